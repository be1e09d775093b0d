/**
 * The lock files (templates/locks/<database>.txt, made by `npm run lock`): one per database,
 * universal across the supported Python versions, every dependency pinned with hashes, current
 * with core/databases.ts and the pinned uv, shipped to a project as requirements-scdf.txt
 * whatever its Python version, and installable from PyPI with the Dockerfile's
 * `--require-hashes --only-binary=:all:`: the requirements-scdf.txt of a project generated for
 * the newest Python is installed into a venv on every supported Python this machine has (a
 * developer's python3 is rarely the image's), downloaded for the others. Also the installed size
 * of the MySQL, MariaDB and PostgreSQL runtime dependencies (docs/lock-files.md "Installed size").
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { DATABASE_PROFILES } from '../../core/databases.js';
import { SUPPORTED_PYTHONS } from '../../core/template-context.js';
import {
  DATABASES,
  PYTHON_VERSIONS,
  type Database,
  type PythonVersion,
} from '../../core/validators.js';
import { tempDir } from '../support/cli.js';
import { Engine } from '../support/engine.js';
import { REPO_ROOT } from '../support/paths.js';
import { findPython, pythonFor, targetOptions } from '../support/pythons.js';
import { LOCK_INSTALL_OPTIONS, PYPI_ONLY_ENV } from '../support/venv.js';
import { renderProject } from './fixture.js';

const LOCKS = path.join(REPO_ROOT, 'templates/locks');
const lockPath = (database: string) => path.join(LOCKS, `${database}.txt`);
// The image's default Python: a project for it is what a developer with another python3 gets.
const NEWEST = PYTHON_VERSIONS[PYTHON_VERSIONS.length - 1] ?? '';
// CI's machine (the same image as this one) has pyenv builds of these, and Debian's 3.11 in
// /usr/bin; 3.14 is not there, so its locks are checked by downloading their wheels for it. In
// CI a missing one is an error.
const INSTALLED_ON_CI = ['3.11', '3.12', '3.13'];
// Goal for the managed runtime dependencies of these databases (MB = 10^6 bytes).
const SIZE_LIMIT = 20_000_000;
const SIZED = ['mysql', 'mariadb', 'postgresql'] as const;

interface Pin {
  readonly name: string;
  readonly version: string;
  /** The environment marker (`python_full_version < '3.13'`), '' when it applies everywhere. */
  readonly marker: string;
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
    const match =
      /^([A-Za-z0-9._-]+)==(\S+)(?: ; ([^\\]+?))?((?: --hash=sha256:[0-9a-f]{64})+)$/.exec(line);
    if (!match) throw new Error(`not a pin with hashes: ${line}`);
    const [, name = '', version = '', marker = '', hashes = ''] = match;
    return { name, version, marker, hashes: hashes.trim().split(' ') };
  });
}

/** Whether an environment marker holds for `python`, as pip (its vendored packaging) reads it. */
function markerHolds(python: string, marker: string): boolean {
  if (marker === '') return true;
  const result = spawnSync(
    python,
    [
      '-c',
      'import sys; from pip._vendor.packaging.markers import Marker; print(Marker(sys.argv[1]).evaluate())',
      marker,
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`${python}: ${result.stderr}`);
  return result.stdout.trim() === 'True';
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

/**
 * The requirements-scdf.txt of a project for each database on the newest Python, written to a
 * scratch folder: what a developer installs, whatever their python3.
 */
function shippedLocks(): { database: Database; lock: string }[] {
  return DATABASES.map((database) => {
    const project = renderProject({ database, pythonVersion: NEWEST as PythonVersion });
    return { database, lock: path.join(project.dir, 'requirements-scdf.txt') };
  });
}

function installedBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).reduce((sum, rel) => {
    const stat = lstatSync(path.join(dir, rel));
    return stat.isFile() ? sum + stat.size : sum;
  }, 0);
}

describe('lock files', () => {
  test('one per database, nothing else', () => {
    expect(readdirSync(LOCKS).sort()).toEqual(
      DATABASES.map((database) => `${database}.txt`).sort(),
    );
  });

  test.each(DATABASES)(
    '%s: every dependency pinned with hashes, the top level as in core/databases.ts',
    (database) => {
      const pins = parsePins(readFileSync(lockPath(database), 'utf8'));
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
      // The top level holds everywhere; only what some Pythons or platforms need has a marker.
      for (const pin of pins.filter((p) => p.marker !== ''))
        expect(pin.marker).toMatch(
          /^(python_full_version|sys_platform|implementation_name|platform_python_implementation) /,
        );
    },
  );

  test('universal: what only older Pythons need is in the lock, behind a marker', () => {
    // psycopg needs typing-extensions below 3.13 only: a lock resolved for 3.14 alone lacked it,
    // and pip --require-hashes on 3.11 refused the unpinned `typing-extensions>=4.6`.
    expect(parsePins(readFileSync(lockPath('postgresql'), 'utf8'))).toContainEqual(
      expect.objectContaining({
        name: 'typing-extensions',
        marker: "python_full_version < '3.13'",
      }),
    );
  });

  test("MySQL's lock has cryptography (caching_sha2_password's RSA), MariaDB's the driver alone", () => {
    const names = (database: string) =>
      parsePins(readFileSync(lockPath(database), 'utf8')).map((pin) => normalize(pin.name));
    expect(names('mysql')).toEqual(['cffi', 'cryptography', 'pycparser', 'pymysql']);
    expect(names('mariadb')).toEqual(['pymysql']);
  });

  test.each(
    DATABASES.flatMap((database) => PYTHON_VERSIONS.map((version) => ({ database, version }))),
  )(
    'a $database project on Python $version gets the one lock as requirements-scdf.txt',
    ({ database, version }) => {
      const project = renderProject({ database, pythonVersion: version });
      const shipped = project.read('requirements-scdf.txt');
      const lock = readFileSync(lockPath(database), 'utf8');
      expect(shipped.endsWith(`\n${lock}`)).toBe(true);
      const header = shipped.slice(0, -lock.length);
      expect(header).toMatch(/^(#.*\n)+$/);
      const text = header.replace(/\n# ?/g, ' ');
      expect(text).toContain(`for ${DATABASE_PROFILES[database].label}:`);
      expect(text).toContain(`every supported Python, ${SUPPORTED_PYTHONS} `);
      expect(text).toContain(`the image's Python ${version} and a venv of any local python3`);
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
      output: `lock-python: ${String(DATABASES.length)} locks are current (uv ${uv})\n`,
    });
  }, 300_000);
});

describe.each(PYTHON_VERSIONS)(
  `the locks of projects for Python ${NEWEST}, on Python %s`,
  (version) => {
    const python = findPython(version);

    if (python || (process.env.CI === 'true' && INSTALLED_ON_CI.includes(version))) {
      test('each installs from PyPI with --require-hashes into a fresh venv, and its driver imports', async () => {
        if (!python)
          throw new Error(`CI: no Python ${version} on this machine (pyenv builds expected)`);
        const interpreter = python;
        const results = await inPairs(
          shippedLocks().map(({ database, lock }) => async () => {
            const databases = [database];
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
              [
                path.join(venv, 'bin/python'),
                ['-c', `import ${DATABASE_PROFILES[database].driverModule}`],
              ],
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
          shippedLocks().map(({ database, lock }) => async () => {
            const databases = [database];
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
            // What applies on that Python (its markers as the closest interpreter reads them).
            const pins = parsePins(readFileSync(lock, 'utf8')).filter((pin) =>
              markerHolds(interpreter, pin.marker),
            );
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
  },
);

// No Debian release or pyenv build here has the newest Python: scripts/setup-containers.sh makes
// a podman image of Debian sid's python3.14 (SCDF_TEST_PYTHON_SID_IMAGE), which installs them for
// real beside the download check above. In CI a missing image is an error.
describe(`the locks of projects for Python ${NEWEST}, on Debian sid's Python 3.14 (podman)`, () => {
  test('each installs from PyPI with --require-hashes into a fresh venv, and its driver imports', () => {
    const engine = Engine.find();
    const image =
      typeof engine === 'string' ? undefined : engine.setting('SCDF_TEST_PYTHON_SID_IMAGE');
    if (typeof engine === 'string' || !image) {
      const why = typeof engine === 'string' ? engine : 'SCDF_TEST_PYTHON_SID_IMAGE is not set';
      if (process.env.CI === 'true')
        throw new Error(`CI: ${why}: run bash scripts/setup-containers.sh`);
      console.warn(`Python 3.14 lock installs skipped: ${why}`);
      return;
    }
    const folder = tempDir('scdf-locks-314-');
    const locks = shippedLocks();
    for (const { database, lock } of locks)
      writeFileSync(path.join(folder, `${database}.txt`), readFileSync(lock));
    const imageId = engine.ok(['image', 'inspect', '--format', '{{.Id}}', image]).trim();
    const key = createHash('sha256')
      .update(`${imageId}\n${locks.map(({ lock }) => readFileSync(lock, 'utf8')).join('\n')}`)
      .digest('hex')
      .slice(0, 16);
    const stamp = path.join(REPO_ROOT, '.cache/lock-venvs', `podman-${key}.installed`);
    if (existsSync(stamp)) return;
    const options = ['--quiet', '--disable-pip-version-check', ...LOCK_INSTALL_OPTIONS].join(' ');
    const script = [
      "python3.14 -c \"import sys; print('python', *sys.version_info[:2], sep='.')\"",
      ...locks.map(({ database }) => {
        const v = `/tmp/venv-${database}`;
        const driver = DATABASE_PROFILES[database].driverModule;
        return (
          `python3.14 -m venv ${v} && ${v}/bin/pip install ${options} -r /locks/${database}.txt` +
          ` && ${v}/bin/pip check >/dev/null && ${v}/bin/python -c "import ${driver}"` +
          ` && echo "installed ${database}" || echo "FAILED ${database}"`
        );
      }),
    ].join('\n');
    const result = engine.run([
      'run',
      '--rm',
      ...engine.pipAccess(),
      '-v',
      `${folder}:/locks:ro`,
      image,
      'sh',
      '-c',
      script,
    ]);
    const lines = result.stdout
      .split('\n')
      .filter((line) => /^(python|installed|FAILED) /.test(line) || /^python\./.test(line));
    expect({
      status: result.status,
      lines,
      ...(lines.some((l) => l.startsWith('FAILED'))
        ? { output: `${result.stdout}\n${result.stderr}` }
        : {}),
    }).toEqual({
      status: 0,
      lines: ['python.3.14', ...locks.map(({ database }) => `installed ${database}`)],
    });
    mkdirSync(path.dirname(stamp), { recursive: true });
    writeFileSync(stamp, '');
  }, 900_000);
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
          lockPath(database),
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
