import { BuilderError } from '../builder-error.js';
import { parseOutputSpec } from './output-spec.js';

describe('parseOutputSpec', () => {
  it.each([
    ['type=oci,dest=out.tar', { type: 'oci', dest: 'out.tar', tar: true }],
    ['type=oci,dest=dir,tar=false,name=v1', { type: 'oci', dest: 'dir', tar: false, name: 'v1' }],
    ['type=docker,dest=d.tar', { type: 'docker', dest: 'd.tar' }],
    ['type=docker,dest=d.tar,name=a:1,b:2', { type: 'docker', dest: 'd.tar', names: ['a:1', 'b:2'] }],
    ['type=local,dest=rootfs', { type: 'local', dest: 'rootfs' }],
    ['type=tar,dest=-', { type: 'tar', dest: '-' }],
    ['rootfs', { type: 'local', dest: 'rootfs' }],
    ['-', { type: 'tar', dest: '-' }],
  ])('%s', (text, spec) => {
    expect(parseOutputSpec(text)).toEqual(spec);
  });

  it.each([
    ['type=registry,dest=x', /unsupported output type "registry"/],
    ['type=tar', /needs dest=PATH/],
    ['type=local,dest=-', /needs a directory/],
    ['type=oci,dest=-,tar=false', /needs tar=true/],
    ['type=tar,dest=x,tar=false', /has no field "tar"/],
    ['type=oci,dest=x,tar=maybe', /expected true or false/],
  ])('rejects %s', (text, message) => {
    expect(() => parseOutputSpec(text)).toThrow(BuilderError);
    expect(() => parseOutputSpec(text)).toThrow(message);
  });
});
