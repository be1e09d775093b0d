#!/usr/bin/env node
/**
 * What one SCDF execution of the generated task costs, against the floor and the seed recipe,
 * on the real PostgreSQL and MariaDB servers: median wall time, CPU time and peak RSS of a fresh
 * process (interpreter start, imports, the start and end writes, a 0-second body), from one
 * interleaved run, and the installed size of each variant's runtime dependencies.
 *
 * - floor: bench/task-overhead/floor.py, the bare driver doing FLOOR_PLAN's connections and
 *   statements, with no utilities. Its venv (.tools/bench-task/floor-<db>) is `python3 -m venv`
 *   plus `pip install --only-binary=:all:` of the database's top-level pin in core/databases.ts
 *   and nothing else: PyMySQL alone for MariaDB, PyMySQL[rsa] (with cryptography) for MySQL,
 *   psycopg[binary] for PostgreSQL (the binary extra is its libpq). floor.py imports only the
 *   standard library's json, os, sys, datetime and urllib.parse beside the driver;
 * - ours: a generated project's `python_task.py` in a venv of its lock and requirements.txt, with the
 *   arguments SCDF's exec entry point style passes;
 * - recipe: bench/task-overhead/recipe_peer.py, a peer of the "Python/Docker as SCDF Task"
 *   recipe under SQLAlchemy 1.4 (see that file).
 *
 * Needs the database settings `npm test`'s set-up writes (.cache/databases.env) or SCDF_TEST_*.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATABASE_PROFILES } from '../lib/core/databases.js';
import {
  BIN,
  here,
  median,
  plan,
  root,
  run,
  scdfArguments,
  scratchDb as scratchDbOf,
  serverSettings,
  tools,
  venv,
} from './support.js';

const runs = Number.parseInt(process.env.BENCH_RUNS ?? '15', 10);
// The recipe's own pins are "sqlalchemy" and "mysqlclient", unversioned; it predates 2.0, so it
// runs on the last 1.4 release. psycopg2 because 1.4 has no psycopg 3 dialect.
const RECIPE_SQLALCHEMY = 'SQLAlchemy==1.4.54';
const RECIPE_PSYCOPG2 = 'psycopg2-binary==2.9.13';

/**
 * A generated project for `database`, freshly generated into .tools/bench-task/project-<db>, with
 * a venv of its runtime requirements that is made again only when they change.
 */
function generatedProject(database) {
  const parent = path.join(tools, `project-${database}`);
  rmSync(parent, { recursive: true, force: true });
  mkdirSync(parent, { recursive: true });
  // The lock is universal: it installs on whatever supported python3 makes the venvs.
  run(process.execPath, [BIN, 'bench-task', '--database', database, '--defaults'], {
    cwd: parent,
  });
  const project = path.join(parent, 'bench-task');
  // The stamp names the way of installing too, so a venv made another way is made again.
  const requirements = ['requirements.txt', 'requirements-scdf.txt']
    .map((file) => readFileSync(path.join(project, file), 'utf8'))
    .concat('installed: the lock with --require-hashes, then requirements.txt')
    .join('\n');
  const venvDir = path.join(tools, `ours-${database}`);
  const stamp = path.join(venvDir, 'requirements.stamp');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== requirements) {
    console.log(
      `installing the generated ${database} project's requirements into .tools/bench-task ...`,
    );
    rmSync(venvDir, { recursive: true, force: true });
    run('python3', ['-m', 'venv', venvDir]);
    // As the image installs them: the lock alone with its hashes, then the user's own pins.
    const pip = [
      path.join(venvDir, 'bin/pip'),
      'install',
      '--quiet',
      '--disable-pip-version-check',
    ];
    run(pip[0], [...pip.slice(1), '--require-hashes', '-r', 'requirements-scdf.txt'], {
      cwd: project,
    });
    run(pip[0], [...pip.slice(1), '-r', 'requirements.txt'], { cwd: project });
    writeFileSync(stamp, requirements);
  }
  return { project, python: path.join(venvDir, 'bin/python') };
}

/** Installed size (MB) of `requirements` as the image installs them: pip --target, du. */
function installedMegabytes(requirements) {
  const target = mkdtempSync(path.join(os.tmpdir(), 'scdf-bench-size-'));
  run('python3', [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--only-binary=:all:',
    '--target',
    target,
    ...requirements,
  ]);
  const kib = Number(run('du', ['-sk', target]).split('\t')[0]);
  rmSync(target, { recursive: true, force: true });
  return (kib * 1024) / 1e6;
}

const measure = path.join(here, 'measure.py');
function timeOnce(command, args, env, cwd) {
  const out = run('python3', [measure, command, ...args], { env, cwd });
  const result = JSON.parse(out);
  if (result.exit !== 0)
    throw new Error(`${command} ${args[0]} exited ${result.exit}:\n${result.output}`);
  return result;
}

const servers = serverSettings();
const variants = [];
for (const server of servers) {
  const profile = DATABASE_PROFILES[server.vendor];
  const driver = profile.requirements.filter((r) => !/^sqlalchemy\b/i.test(r));
  const recipeDriver = server.vendor === 'postgresql' ? [RECIPE_PSYCOPG2] : driver;
  const floorBin = venv(`floor-${server.vendor}`, driver);
  const recipeBin = venv(`recipe-${server.vendor}`, [RECIPE_SQLALCHEMY, ...recipeDriver]);
  const { project, python: oursPython } = generatedProject(server.vendor);
  // Installed from the file itself, so hashes and includes work as in the image; the pins are
  // only shown.
  const pins = readFileSync(path.join(project, 'requirements-scdf.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s/)[0] ?? '')
    .filter((line) => line && !line.startsWith('#') && !line.startsWith('-'));
  const base = { server, floorBin };
  variants.push(
    {
      ...base,
      name: 'floor',
      python: path.join(floorBin, 'python'),
      script: path.join(here, 'floor.py'),
      cwd: here,
      requirements: driver,
    },
    {
      ...base,
      name: 'ours',
      python: oursPython,
      script: path.join(project, 'python_task.py'),
      cwd: project,
      // What the image installs for the task: its lock (requirements.txt adds only the user's).
      requirements: ['--require-hashes', '-r', path.join(project, 'requirements-scdf.txt')],
      shown: pins,
    },
    {
      ...base,
      name: 'recipe',
      python: path.join(recipeBin, 'python'),
      script: path.join(here, 'recipe_peer.py'),
      cwd: here,
      requirements: [RECIPE_SQLALCHEMY, ...recipeDriver],
    },
  );
}

// Named after the login's own database: the provisioned MariaDB login may create only
// `<database>_*` databases.
const scratchName = (server) => `${server.adminDatabase}_bench_task_${process.pid}`;
function scratchDb(server, command, ...args) {
  const python = path.join(variants.find((v) => v.server === server).floorBin, 'python');
  scratchDbOf(server, python, scratchName(server), command, ...args);
}

const perServer = variants.length / servers.length;
const rows = (runs + 1) * perServer;
const nextId = new Map(servers.map((s) => [s, 1]));
const samples = new Map(variants.map((v) => [v, []]));

function launch(variant) {
  const { server } = variant;
  const id = nextId.get(server);
  nextId.set(server, id + 1);
  const args = [variant.script, ...scdfArguments(server, scratchName(server), 'bench-task', id)];
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: os.tmpdir(),
    LANG: 'C.UTF-8',
    BENCH_FLOOR_PLAN: plan,
  };
  return timeOnce(variant.python, args, env, variant.cwd);
}

try {
  for (const server of servers) {
    // SCDF 2.11.5's own schema, as its Flyway migrations create it.
    const schema = path.join(root, `test/contract/schemas/scdf-2.11.5/${server.vendor}-TASK_.sql`);
    scratchDb(server, 'create', schema, String(rows));
  }
  // One warm-up each (page cache, .pyc files); then interleaved rounds, so drift in machine load
  // hits every variant alike.
  for (const variant of variants) launch(variant);
  for (let i = 0; i < runs; i += 1) {
    for (const variant of variants) samples.get(variant).push(launch(variant));
  }
  for (const server of servers) scratchDb(server, 'check', '1', String(rows));
} finally {
  for (const server of servers) scratchDb(server, 'drop');
}

const sizes = new Map(variants.map((v) => [v, installedMegabytes(v.requirements)]));
console.log(
  `${runs} interleaved runs each, one execution per process (0-second body), ${os.cpus().length} CPUs, ` +
    `${run('python3', ['--version']).trim()}`,
);
console.log(
  `${'database / variant'.padEnd(22)} ${'median'.padStart(8)} ${'min'.padStart(6)} ${'max'.padStart(6)} ` +
    `${'×floor'.padStart(7)} ${'×recipe'.padStart(8)} ${'CPU'.padStart(7)} ${'×floor'.padStart(7)} ` +
    `${'peak RSS'.padStart(9)} ${'×floor'.padStart(7)} ` +
    `${'installed'.padStart(10)}  requirements`,
);
const goals = [];
for (const server of servers) {
  const of = (name) => variants.find((v) => v.server === server && v.name === name);
  const stat = (variant, key) => median(samples.get(variant).map((s) => s[key]));
  const floorMs = stat(of('floor'), 'wall_ms');
  const recipeMs = stat(of('recipe'), 'wall_ms');
  const floorRss = stat(of('floor'), 'rss_kib');
  const floorCpu = stat(of('floor'), 'cpu_ms');
  for (const variant of variants.filter((v) => v.server === server)) {
    const walls = samples.get(variant).map((s) => s.wall_ms);
    const ms = stat(variant, 'wall_ms');
    const rss = stat(variant, 'rss_kib');
    const cpu = stat(variant, 'cpu_ms');
    console.log(
      `${`${server.vendor} ${variant.name}`.padEnd(22)} ${`${ms.toFixed(0)} ms`.padStart(8)} ` +
        `${Math.min(...walls)
          .toFixed(0)
          .padStart(6)} ${Math.max(...walls)
          .toFixed(0)
          .padStart(6)} ` +
        `${(ms / floorMs).toFixed(2).padStart(7)} ${(ms / recipeMs).toFixed(2).padStart(8)} ` +
        `${`${cpu.toFixed(0)} ms`.padStart(7)} ${(cpu / floorCpu).toFixed(2).padStart(7)} ` +
        `${`${(rss / 1024).toFixed(1)} MiB`.padStart(9)} ${(rss / floorRss).toFixed(2).padStart(7)} ` +
        `${`${sizes.get(variant).toFixed(1)} MB`.padStart(10)}  ${(variant.shown ?? variant.requirements).join(' ')}`,
    );
  }
  const ratio = stat(of('ours'), 'wall_ms') / floorMs;
  goals.push(
    `  ${ratio <= 1.2 ? 'met    ' : 'not met'} ${server.vendor}: ours ≤ 1.2× floor: ${ratio.toFixed(2)}×`,
  );
  // The same goal in CPU time, which a busy machine does not inflate as it does wall time.
  const cpuRatio = stat(of('ours'), 'cpu_ms') / floorCpu;
  goals.push(
    `  ${cpuRatio <= 1.2 ? 'met    ' : 'not met'} ${server.vendor}: ours ≤ 1.2× floor in CPU time: ${cpuRatio.toFixed(2)}×`,
  );
  const size = sizes.get(of('ours'));
  goals.push(
    `  ${size <= 20 ? 'met    ' : 'not met'} ${server.vendor}: ours installed ≤ 20 MB: ${size.toFixed(1)} MB`,
  );
}
const shape = JSON.parse(plan).map((statements) =>
  statements.map(
    (sql) => `${sql.split(' ')[0]}${sql.includes('%(param)s') ? ' per argument' : ''}`,
  ),
);
console.log(
  `floor: ${shape.length} connections (${shape.map((c) => c.join(' + ')).join('; ')}); ` +
    'launch arguments: the 6 SCDF passes and --work.seconds=0',
);
console.log('\ngoals:');
for (const line of goals) console.log(line);
