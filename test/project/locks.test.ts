/**
 * The lock files (templates/locks/<database>-py<version>.txt, made by `npm run lock`): one per
 * database and supported Python version, every dependency pinned with hashes, current with
 * core/databases.ts and the pinned uv, shipped to a project as requirements-scdf.txt, and
 * installable from PyPI with the Dockerfile's `--require-hashes --only-binary=:all:`: installed
 * into a venv on every Python version this machine has, downloaded for the others. Also the
 * installed size of the MySQL, MariaDB and PostgreSQL runtime dependencies (docs/lock-files.md "Installed
 * size").
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { DATABASE_PROFILES } from '../../core/databases.js';
import { DATABASES, PYTHON_VERSIONS } from '../../core/validators.js';
import { tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';
import { findPython, pythonFor, targetOptions } from '../support/pythons.js';
import { LOCK_INSTALL_OPTIONS, PYPI_ONLY_ENV } from '../support/venv.js';
import { renderProject } from './fixture.js';

const LOCKS = path.join(REPO_ROOT, 'templates/locks');
const lockPath = (database: string, version: string) =>
  path.join(LOCKS, `${database}-py${version}.txt`);
const CASES = DATABASES.flatMap((database) =>
  PYTHON_VERSIONS.map((version) => ({ database, version })),
);
// CI's machine (the same image as this one) has pyenv builds of these; 3.14 is not there, so
// its locks are checked by downloading their wheels for it. In CI a missing one is an error.
const INSTALLED_ON_CI = ['3.11', '3.12', '3.13'];
// Goal for the managed runtime dependencies of these databases (MB = 10^6 bytes).
const SIZE_LIMIT = 20_000_000;
const SIZED = ['mysql', 'mariadb', 'postgresql'] as const;

interface Pin {
  readonly name: string;
  readonly version: string;
  readonly hashes: readonly string[];
}

/** The entries of a lock; throws on any line that is not a pin, a hash or a comment. */
function parsePins(text: string): Pin[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*(#|$)/.test(line))
    .join('\n')
    .replace(/\s*\\\n\s*/g, ' ')
    .split('\n');
  return logical.map((line) => {
    const match = /^([A-Za-z0-9._-]+)==(\S+)((?: --hash=sha256:[0-9a-f]{64})+)$/.exec(line);
    if (!match) throw new Error(`not a pin with hashes: ${line}`);
    const [, name = '', version = '', hashes = ''] = match;
    return { name, version, hashes: hashes.trim().split(' ') };
  });
}

const normalize = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

interface Run {
  readonly status: number | null;
  readonly output: string;
}

function run(command: string, args: readonly string[], cwd?: string): Promise<Run> {
  return new Promise((done, reject) => {
    const child = spawn(command, args, {
      cwd,
      // As in the image: root installs into a target folder or venv on purpose.
      env: { ...process.env, ...PYPI_ONLY_ENV, PIP_ROOT_USER_ACTION: 'ignore' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      done({ status, output });
    });
  });
}

/** Runs `jobs` two at a time (the machine has two cores, pip mostly waits on the network). */
async function inPairs<T>(jobs: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (job) results.push(await job());
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

/** Databases whose locks for `version` differ (MySQL and MariaDB share a driver, so a lock). */
function distinctLocks(version: string): { databases: string[]; lock: string }[] {
  const groups = new Map<string, string[]>();
  for (const database of DATABASES) {
    const text = readFileSync(lockPath(database, version), 'utf8');
    groups.set(text, [...(groups.get(text) ?? []), database]);
  }
  return [...groups.values()].map((databases) => ({
    databases,
    lock: lockPath(databases[0] ?? '', version),
  }));
}

function installedBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).reduce((sum, rel) => {
    const stat = lstatSync(path.join(dir, rel));
    return stat.isFile() ? sum + stat.size : sum;
  }, 0);
}

describe('lock files', () => {
  test('one per database and supported Python version, nothing else', () => {
    expect(readdirSync(LOCKS).sort()).toEqual(
      CASES.map(({ database, version }) => `${database}-py${version}.txt`).sort(),
    );
  });

  test.each(CASES)(
    '$database on Python $version: every dependency pinned with hashes, the top level as in core/databases.ts',
    ({ database, version }) => {
      const pins = parsePins(readFileSync(lockPath(database, version), 'utf8'));
      const names = pins.map((pin) => normalize(pin.name));
      expect(new Set(names).size).toBe(names.length);
      for (const requirement of DATABASE_PROFILES[database].requirements) {
        const [, name = '', pinned = ''] =
          /^([^[=]+)(?:\[[^\]]*\])?==(.+)$/.exec(requirement) ?? [];
        expect(pins).toContainEqual(
          expect.objectContaining({ name: normalize(name), version: pinned }),
        );
      }
      // The managed runtime is the driver only.
      expect(names).not.toContain('sqlalchemy');
    },
  );

  test.each(CASES)(
    'a $database project on Python $version gets that lock as requirements-scdf.txt',
    ({ database, version }) => {
      const project = renderProject({ database, pythonVersion: version });
      const shipped = project.read('requirements-scdf.txt');
      const lock = readFileSync(lockPath(database, version), 'utf8');
      expect(shipped.endsWith(`\n${lock}`)).toBe(true);
      expect(shipped.slice(0, -lock.length)).toMatch(/^(#.*\n)+$/);
      expect(shipped).toContain(`for ${DATABASE_PROFILES[database].label} on Python ${version}`);
    },
  );

  test('regenerating them with the pinned uv (package.json config.uv) changes nothing', async () => {
    const result = await run('bash', [path.join(REPO_ROOT, 'scripts/lock-python.sh'), '--check']);
    const uv = (
      JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
        config: { uv: string };
      }
    ).config.uv;
    expect(result).toEqual({
      status: 0,
      output: `lock-python: ${String(CASES.length)} locks are current (uv ${uv})\n`,
    });
  }, 300_000);
});

describe.each(PYTHON_VERSIONS)('the locks for Python %s', (version) => {
  const python = findPython(version);

  if (python || (process.env.CI === 'true' && INSTALLED_ON_CI.includes(version))) {
    test('each installs from PyPI with --require-hashes into a fresh venv, and its driver imports', async () => {
      if (!python)
        throw new Error(`CI: no Python ${version} on this machine (pyenv builds expected)`);
      const interpreter = python;
      const results = await inPairs(
        distinctLocks(version).map(({ databases, lock }) => async () => {
          const text = readFileSync(lock, 'utf8');
          // Keyed on the interpreter and the lock's contents: an unchanged pair was proven before.
          const key = createHash('sha256')
            .update(`${interpreter}\n${text}`)
            .digest('hex')
            .slice(0, 16);
          const venv = path.join(REPO_ROOT, '.cache/lock-venvs', key);
          if (existsSync(path.join(venv, '.installed')))
            return { databases, status: 0, output: '' };
          const steps: [string, string[]][] = [
            [interpreter, ['-m', 'venv', '--clear', venv]],
            [
              path.join(venv, 'bin/pip'),
              [
                'install',
                '--quiet',
                '--disable-pip-version-check',
                ...LOCK_INSTALL_OPTIONS,
                '-r',
                lock,
              ],
            ],
            [path.join(venv, 'bin/pip'), ['check']],
            ...databases.map((database): [string, string[]] => [
              path.join(venv, 'bin/python'),
              [
                '-c',
                `import ${DATABASE_PROFILES[database as keyof typeof DATABASE_PROFILES].driverModule}`,
              ],
            ]),
          ];
          for (const [command, args] of steps) {
            const result = await run(command, args);
            if (result.status !== 0)
              return {
                databases,
                ...result,
                output: `${command} ${args.join(' ')}\n${result.output}`,
              };
          }
          writeFileSync(path.join(venv, '.installed'), '');
          return { databases, status: 0, output: '' };
        }),
      );
      expect(results.filter((result) => result.status !== 0)).toEqual([]);
      expect(results.flatMap((result) => result.databases).sort()).toEqual([...DATABASES].sort());
    }, 900_000);
  }

  if (!python) {
    if (process.env.CI === 'true' && INSTALLED_ON_CI.includes(version)) return;
    test('not installed here: each downloads from PyPI with --require-hashes, one wheel per pin', async () => {
      const interpreter = pythonFor(version, PYTHON_VERSIONS);
      const results = await inPairs(
        distinctLocks(version).map(({ databases, lock }) => async () => {
          const scratch = tempDir('scdf-lock-download-');
          const result = await run(interpreter, [
            '-m',
            'pip',
            'download',
            '--quiet',
            '--disable-pip-version-check',
            ...LOCK_INSTALL_OPTIONS,
            ...targetOptions(version, 'x86_64'),
            '--dest',
            scratch,
            '-r',
            lock,
          ]);
          const wheels = existsSync(scratch) ? readdirSync(scratch).sort() : [];
          const pins = parsePins(readFileSync(lock, 'utf8'));
          return {
            databases,
            result,
            wheels: wheels.map((wheel) => normalize(wheel.split('-')[0] ?? '')),
            expected: pins.map((pin) => normalize(pin.name)).sort(),
          };
        }),
      );
      for (const { databases, result, wheels, expected } of results) {
        expect({ databases, ...result }).toEqual({ databases, status: 0, output: '' });
        expect(wheels.every((wheel, i) => wheel === expected[i])).toBe(true);
        expect(wheels).toHaveLength(expected.length);
      }
    }, 900_000);
  }
});

describe('installed size of the managed runtime dependencies', () => {
  // The newest Python here: the image's default is the newest supported one.
  const version = [...PYTHON_VERSIONS].reverse().find((v) => findPython(v)) ?? '';

  test(`MySQL, MariaDB and PostgreSQL each install at most 20 MB (Python ${version}, fresh --target)`, async () => {
    const python = findPython(version);
    if (!python) throw new Error(`no Python of ${PYTHON_VERSIONS.join(', ')} on this machine`);
    const sizes = await inPairs(
      SIZED.map((database) => async () => {
        const target = tempDir(`scdf-size-${database}-`);
        const result = await run(python, [
          '-m',
          'pip',
          'install',
          '--quiet',
          '--disable-pip-version-check',
          ...LOCK_INSTALL_OPTIONS,
          '--target',
          target,
          '-r',
          lockPath(database, version),
        ]);
        return { database, result, bytes: installedBytes(target) };
      }),
    );
    const table = sizes
      .map(({ database, bytes }) => `  ${database.padEnd(10)} ${(bytes / 1e6).toFixed(1)} MB`)
      .join('\n');
    process.stdout.write(`installed size, Python ${version}:\n${table}\n`);
    for (const { database, result, bytes } of sizes) {
      expect({ database, ...result }).toEqual({ database, status: 0, output: '' });
      expect(bytes).toBeGreaterThan(100_000);
      expect({ database, underLimit: bytes <= SIZE_LIMIT, bytes }).toEqual({
        database,
        underLimit: true,
        bytes,
      });
    }
  }, 600_000);
});
