/**
 * Token scopes (`type:name:action,action`, distribution token spec) with one entry per resource:
 * the actions a resource is named with anywhere, in the order first seen. A challenge naming
 * `repository:a:push,pull` for a request that asked for `repository:a:pull,push` is one scope,
 * not two: token servers treat repeats differently, and one token per scope set is cached.
 * Scopes that are not `type:name:actions` are kept as they are.
 */
export function mergeScopes(scopes: Iterable<string>): string[] {
  const actions = new Map<string, string[]>();
  const order: string[] = [];
  for (const scope of scopes) {
    const last = scope.lastIndexOf(':');
    if (last <= 0 || scope.indexOf(':') === last || last === scope.length - 1) {
      if (!actions.has(scope)) {
        actions.set(scope, []);
        order.push(scope);
      }
      continue;
    }
    const resource = scope.slice(0, last);
    let list = actions.get(resource);
    if (!list) {
      list = [];
      actions.set(resource, list);
      order.push(resource);
    }
    for (const action of scope.slice(last + 1).split(','))
      if (action && !list.includes(action)) list.push(action);
  }
  return order.map((r) => {
    const list = actions.get(r) ?? [];
    return list.length > 0 ? `${r}:${list.join(',')}` : r;
  });
}
