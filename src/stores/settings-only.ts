/**
 * What a store backed by a database client shows of itself when it is logged: its settings,
 * never the client. A `pg.Pool` or an ioredis client keeps its connection options (the database
 * address, user and password) where `console.log(store)` would print them, and holds sockets and
 * cycles that make `JSON.stringify(store)` throw.
 *
 * @module
 */

/**
 * Make `util.inspect` (and so `console.log`) show `Name { …settings }` for the class's instances,
 * where the settings are what the class's `toJSON()` gives. @internal
 */
export function inspectAsSettings(prototype: { toJSON(): object }, name: string): void {
  Object.defineProperty(prototype, Symbol.for("nodejs.util.inspect.custom"), {
    value(this: { toJSON(): object }, _depth: number, options: unknown, inspect?: (value: unknown, options: unknown) => string): string {
      const settings = this.toJSON();
      return `${name} ${typeof inspect === "function" ? inspect(settings, options) : JSON.stringify(settings)}`;
    },
    configurable: true,
    writable: true,
  });
}
