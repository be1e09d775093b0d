import base from './jest.config.js';

/**
 * The unit tests of core/ alone, without the global set-up that builds lib/: what Stryker runs
 * against each mutant (`npm run mutation`). The tests of the repository itself (its scripts, npm
 * settings, file sizes) test no module of core/ and are left out.
 */
export default {
  ...base,
  roots: ['<rootDir>/test/unit'],
  testPathIgnorePatterns: ['/install-scripts\\.test\\.ts$', '/file-sizes\\.test\\.ts$'],
  globalSetup: undefined,
};
