// ESLint (flat config) for the dashboard: the JavaScript and TypeScript
// recommended rules, and React's hooks rules (rules of hooks, exhaustive
// effect dependencies, and the React Compiler's checks in `recommended`).
// `npm run lint`; scripts/build-dashboard.sh runs it in the test run.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig([
  { ignores: ['dist/', 'node_modules/', 'src/api.gen.ts'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  reactHooks.configs.flat.recommended,
  {
    // Node scripts; e2e/run.mjs also has functions that run in the page
    // (window, document).
    files: ['scripts/**/*.mjs', 'e2e/**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        fetch: 'readonly',
        window: 'readonly',
        document: 'readonly',
      },
    },
  },
  {
    // A disable comment that no longer disables anything is an error, so
    // the few justified ones cannot outlive their reason. (`npm run lint`
    // also fails on warnings: --max-warnings 0.)
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
]);
