import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tempDir } from './cli.js';
import { REPO_ROOT } from './paths.js';

/** A real npm registry on loopback (verdaccio), with nothing in it but what a test publishes. */
export interface Registry {
  readonly url: string;
  /** An npm user config holding the registry and a token that may publish to it. */
  readonly userconfig: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function waitForPing(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`verdaccio exited with ${child.exitCode}:\n${log()}`);
    try {
      const response = await fetch(`${url}-/ping`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`verdaccio did not answer on ${url} within 60 s:\n${log()}`);
}

/**
 * Starts verdaccio from node_modules with its own storage and users. No uplink unless `uplink`
 * is given: then every package but this one is fetched from it, for a test that installs this
 * package with its dependencies, as npx does.
 */
export async function startRegistry(uplink?: string): Promise<Registry> {
  const dir = tempDir('scdf-registry-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const config = path.join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      `storage: ${path.join(dir, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${path.join(dir, 'htpasswd')}`,
      '    max_users: 10',
      // No uplink: the registry holds only what the test publishes and never reaches out.
      ...(uplink === undefined
        ? ['uplinks: {}']
        : ['uplinks:', '  upstream:', `    url: ${uplink}`]),
      'packages:',
      // This package only ever as published here, even once it is on the uplink too.
      "  'generator-scdf-task':",
      '    access: $all',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      ...(uplink === undefined ? [] : ['    proxy: upstream']),
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  let output = '';
  const child = spawn(
    process.execPath,
    [
      path.join(REPO_ROOT, 'node_modules/verdaccio/bin/verdaccio'),
      '--config',
      config,
      '--listen',
      `127.0.0.1:${port}`,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) {
        resolve();
        return;
      }
      child.once('exit', () => {
        resolve();
      });
      child.kill('SIGTERM');
    });
  try {
    await waitForPing(url, child, () => output);
    const response = await fetch(`${url}-/user/org.couchdb.user:publisher`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'publisher', password: 'publisher-password-1' }),
    });
    const { token } = (await response.json()) as { token?: string };
    if (!response.ok || !token)
      throw new Error(`verdaccio refused the test user (${response.status}):\n${output}`);
    const userconfig = path.join(dir, 'npmrc');
    writeFileSync(userconfig, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
    return { url, userconfig, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * This checkout as another version of the package: the built lib/, the templates as `change`
 * leaves them and package.json under `version`. Its node_modules is this checkout's, so its own
 * bin runs as that version would.
 */
export function stagePackage(version: string, change: (templatesDir: string) => void): string {
  const dir = path.join(tempDir('scdf-package-'), 'package');
  mkdirSync(dir);
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ ...manifest, version }, null, 2)}\n`,
  );
  for (const entry of ['lib', 'templates', 'README.md', 'CHANGELOG.md', 'LICENSE'])
    cpSync(path.join(REPO_ROOT, entry), path.join(dir, entry), { recursive: true });
  change(path.join(dir, 'templates'));
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** Publishes a staged package to the registry with npm itself; throws with npm's output. */
export function publish(registry: Registry, dir: string): void {
  const result = spawnSync(
    'npm',
    [
      'publish',
      '--ignore-scripts',
      '--registry',
      registry.url,
      '--userconfig',
      registry.userconfig,
    ],
    {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, npm_config_cache: path.join(tempDir('scdf-npm-cache-'), 'npm') },
    },
  );
  if (result.status !== 0)
    throw new Error(`npm publish failed (${result.status}):\n${result.stdout}${result.stderr}`);
}
