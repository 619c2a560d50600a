// `express4` is an npm alias of Express 4 installed for these tests; it has no types of its own.
// Its request/response API is the part Express 5's types describe, which is all the tests use.
declare module "express4" {
  import express from "express";
  export default express;
}
