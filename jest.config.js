/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'es6' },
      },
    ],
  },
  // Sources import siblings as "./x.js" (NodeNext); map them back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // Generating projects, packing and creating Python venvs are slow by nature.
  testTimeout: 120_000,
  // Most of the time goes to child processes (pip, pytest, the generator), not to Jest itself:
  // Jest's default of one worker fewer than the cores would run everything serially on 2 cores.
  maxWorkers: 2,
};
