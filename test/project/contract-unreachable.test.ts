import { expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../support/paths.js';

/** A loopback port with nothing listening: what a stopped server looks like to a client. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('the contract suite fails, not skips, when a configured server is down', async () => {
  const port = await closedPort();
  const inherited = Object.entries(process.env).filter(
    ([key]) => !key.startsWith('SCDF_TEST_MARIADB_'),
  );
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(inherited),
    // Not required here: the point is that configured-but-down fails by itself.
    CI: '',
    SCDF_TEST_REQUIRE_DATABASES: '',
    SCDF_TEST_DATABASES_ENV_FILE: path.join(REPO_ROOT, '.cache/none.env'),
    SCDF_TEST_PG_HOST: '127.0.0.1',
    SCDF_TEST_PG_PORT: String(port),
    SCDF_TEST_PG_DATABASE: 'scdf_contract',
    SCDF_TEST_PG_USER: 'scdf_contract',
    SCDF_TEST_PG_PASSWORD: 'unused',
  };
  const result = spawnSync(
    'bash',
    [
      'test/contract/run.sh',
      '-k',
      'postgresql and test_success and exec',
      '-p',
      'no:cacheprovider',
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', env },
  );
  const output = `${result.stdout}\n${result.stderr}`;
  expect(output).toContain('postgresql: configured server unusable');
  expect(output).toContain('contract postgresql: 2 run, 0 passed, 2 failed, 0 skipped');
  expect(result.status).toBe(1);
}, 600_000);
