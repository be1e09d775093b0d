/**
 * Stryker over core/, against the fast unit tests of test/unit/ only (the bin tests spawn the
 * build, which a mutant of the sources never reaches). `npm run mutation -- --ts core/x.ts`
 * narrows `mutate` to the modules named.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'jest',
  jest: { configFile: 'jest.unit.config.js', enableFindRelatedTests: false },
  // Jest runs the tests as ES modules (the repo is "type": "module").
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  mutate: ['core/**/*.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // The machine is shared: a unit test run that normally takes a second may take ten under load.
  timeoutMS: 20000,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: '.cache/mutation/stryker/report.json' },
  htmlReporter: { fileName: '.cache/mutation/stryker/report.html' },
  // Caches, builds and generated samples are no input of the unit tests: not copied per sandbox.
  ignorePatterns: ['.cache', '.tools', 'out', 'bench', 'docs', 'packages'],
  tempDirName: '.cache/mutation/stryker/tmp',
  cleanTempDir: true,
  clearTextReporter: { allowColor: false, reportTests: false, logTests: false },
  thresholds: { high: 90, low: 80, break: null },
};
