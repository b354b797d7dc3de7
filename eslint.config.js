import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// The layout's import rules (DESIGN.md, "Shape of the code") are enforced here, so a wrong import fails `npm run lint`.
const outside = (...folders) => folders.flatMap((f) => [`../${f}/*`, `../../${f}/*`, `../../../${f}/*`, `../../../../${f}/*`])

export default tseslint.config(
  { ignores: ['node_modules/', 'prisma/generated/', 'web-remix/build/', 'plugin/dist/', '.scratch/', '.data/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Workflows are deterministic: only their own folder and the workflow SDK, no Node built-ins, no I/O.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./|@temporalio/workflow$)', message: 'workflows/ may import only itself and @temporalio/workflow' }] }],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'fetch', 'process'],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: outside('temporal', 'web-remix', 'plugin', 'bench'), message: 'activities/ may import workflows/ rules and prisma/ only' }] }] },
  },
  {
    files: ['temporal/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: outside('web-remix', 'plugin', 'bench'), message: 'temporal/ may import workflows/ and activities/ only' }] }] },
  },
  {
    // The web reads and drives workflows; money moves only inside workflow activities.
    files: ['web-remix/**/*.ts', 'web-remix/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: outside('plugin', 'bench'), message: 'web-remix/ does not import the plugin or the bench' },
            {
              group: ['**/activities/ledger/transfers*', '**/activities/calls*'],
              importNames: ['createTransfer', 'postPendingTransfer', 'voidPendingTransfer', 'createCallActivities'],
              message: 'the web never moves money itself: start or signal a workflow instead',
            },
            { group: ['**/activities/wallets*'], importNames: ['creditMemberWallet'], message: 'wallet credits run inside workflows' },
          ],
        },
      ],
    },
  },
  {
    // The plugin talks to the platform only through its HTTP API.
    files: ['plugin/**/*.ts', 'plugin/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: outside('workflows', 'activities', 'temporal', 'prisma', 'web-remix', 'config'), message: 'the plugin uses only the platform HTTP API' }] }],
    },
  },
  {
    // The plugin's rooms (docs/decisions/020-plugin-package-and-electron-boundary.md): the core is plain Node and knows
    // no Electron; only the two entries require Electron; the preload and the renderer see no Node; the renderer
    // uses the core's state types (and plugin-state's pure values) only; shared/ holds types and channel names.
    files: ['plugin/src/**/*.ts', 'plugin/src/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'only main/index.ts and preload/index.ts require Electron; take an ElectronShell (main/electron-shell.ts)' }],
          patterns: [{ group: ['**/tests/*'], message: 'the plugin does not import its tests' }],
        },
      ],
    },
  },
  {
    files: ['plugin/src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'the core runs in plain Node: no Electron' }],
          patterns: [{ group: ['../main/*', '../preload/*', '../renderer/*', '../shared/*'], message: 'the core knows nothing of the Electron shell' }],
        },
      ],
    },
  },
  {
    files: ['plugin/src/renderer/**/*.ts', 'plugin/src/renderer/**/*.tsx', 'plugin/src/preload/**/*.ts', 'plugin/src/shared/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'the page reaches the main process only through window.perminute' }],
          patterns: [
            { group: ['node:*'], message: 'no Node in the preload, the page or shared/' },
            { group: ['../main/*', '../renderer/*'], message: 'the preload, the page and shared/ do not reach into the main process or each other' },
            { group: ['../core/*', '!../core/plugin-state.js'], allowTypeImports: true, message: "only the core's state (plugin-state.ts) crosses to the page; the rest of the core runs in the main process" },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
)
