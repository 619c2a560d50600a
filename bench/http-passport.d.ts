// passport ships no types and @types/passport is not installed; the benchmark uses this much of it.
declare module "passport" {
  import type { RequestHandler } from "express";
  interface Passport {
    use(strategy: unknown): Passport;
    initialize(): RequestHandler;
    authenticate(strategy: string, options: { session: boolean }): RequestHandler;
  }
  const passport: Passport;
  export default passport;
}
