// ESLint for qbsync's JavaScript: the admin page's ES modules (browser, no build step) and the
// browser tests (Node). Run by .ci/run as a gate: `npm ci && npx eslint`.
import js from "@eslint/js";
import globals from "globals";

const rules = {
  "no-implicit-globals": "error",
  "prefer-const": "error",
  eqeqeq: "error",
  "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
};

export default [
  { ignores: ["node_modules/", "browser-tests/node_modules/", "target/", "test-output/"] },
  js.configs.recommended,
  {
    files: ["src/admin/static/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
    rules,
  },
  {
    files: ["browser-tests/**/*.mjs"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      // Node, plus the two page globals that callbacks given to playwright's `evaluate` use:
      // those functions are serialized and run in the page, not in Node.
      globals: { ...globals.node, document: "readonly", getComputedStyle: "readonly" },
    },
    rules,
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
    rules,
  },
];
