import { mergeScopes } from './merge-scopes.js';

it('names each resource once, with every action it was given, in the order first seen', () => {
  expect(
    mergeScopes([
      'repository:tok/dst:pull,push',
      'repository:tok/src:pull',
      'repository:tok/dst:push,pull',
      'repository:tok/src:pull',
      'repository:localhost:5000/x:pull',
      'repository:localhost:5000/x:delete',
    ]),
  ).toEqual([
    'repository:tok/dst:pull,push',
    'repository:tok/src:pull',
    'repository:localhost:5000/x:pull,delete',
  ]);
});

it('keeps what is not type:name:actions as it is, once', () => {
  expect(mergeScopes(['registry:catalog:*', 'odd', 'odd', 'a:', 'repository:b:'])).toEqual([
    'registry:catalog:*',
    'odd',
    'a:',
    'repository:b:',
  ]);
});
