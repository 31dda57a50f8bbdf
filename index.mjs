// The ES module door: the very module `require("medusa-invites")` gives (one default module,
// one native addon), with its exports as named exports.
export * from "./index.js";
export { default } from "./index.js";
