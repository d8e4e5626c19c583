// npm run lint: ESLint's and typescript-eslint's recommended rules over every source file,
// and React's rules of hooks over the dashboard's components. Formatting is Prettier's.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'native/build/', 'test/bench/bin/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A terminal program matches ESC and other control bytes on purpose (SGR, printable text).
      'no-control-regex': 'off',
      // `catch {}` is how this code says "gone is fine" (a task that ended, a file not there).
      'no-empty': ['error', { allowEmptyCatch: true }],
      // A `let` a closure reads before its one assignment must stay `let` (const: a TDZ error).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // tsc's convention: a leading _ marks a parameter or binding that is unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['src/ui/**/*.{ts,tsx}', 'test/ui/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat.recommended,
  },
);
