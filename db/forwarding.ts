/**
 * An object (or, for postgres.js's tagged-template `sql`, a function) whose
 * every property read and call goes to what `target()` is now. Methods are
 * bound to that object, so they run on it, not on the stand-in. `shape` only
 * decides what typeof says (drizzle's checks want an object for `db`).
 */
export function forwarding<T extends object>(target: () => T, shape: object): T {
  return new Proxy(shape, {
    get(_shape, property) {
      const object = target();
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' && property !== 'constructor' ? value.bind(object) : value;
    },
    has: (_shape, property) => Reflect.has(target(), property),
    getPrototypeOf: () => Reflect.getPrototypeOf(target()),
    apply: (_shape, _this, args: unknown[]) => Reflect.apply(target() as (...args: unknown[]) => unknown, undefined, args),
  }) as T;
}
