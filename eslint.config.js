// @ts-check
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import tseslint from 'typescript-eslint'

export default defineConfig(
  { ignores: ['node_modules/', 'reports/', 'fixtures/stack/services/dist/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] } } },
    rules: {
      // A missing await before expect.poll or a disposal passes silently; these are the rules that catch it.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `await using _restore = ...` holds a clean-up to the end of its block without being read.
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.test.ts'],
    rules: {
      // Vitest types its asymmetric matchers (expect.stringMatching, ...) as any.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // Fakes stand in for async dependencies and need not await anything.
      '@typescript-eslint/require-await': 'off',
    },
  },
)
