import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportDeclaration[source.value=/^@kiln\\/.*\\/src/]',
          message: 'import packages by name, not by path',
        },
      ],
    },
  },
  {
    // `kiln --help` must not load the build engine, the store or the registry client: commands
    // import what they run inside their handlers (`await import(...)`). Types are free.
    files: ['packages/builder/src/cli/main.ts', 'packages/builder/src/cli/commands/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@kiln/*',
                '../../build.js',
                '../../index.js',
                '../../base/*',
                '../../containers/*',
                '../../steps/*',
                '../../import-image.js',
                '../../images-archive.js',
                '../../prune.js',
                '../../store-disk-usage.js',
                './render-error.js',
                '../render-error.js',
              ],
              allowTypeImports: true,
              message:
                'load it inside the command handler with `await import(...)`: the CLI starts on yargs alone',
            },
          ],
        },
      ],
    },
  },
);
