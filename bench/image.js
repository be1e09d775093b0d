#!/usr/bin/env node
/**
 * The generated image, measured with a real engine (podman; scripts/setup-containers.sh):
 *
 * - size: for each database, what the image adds over its base, layer by layer; the installed
 *   lock is the floor, and the rest (the code, its bytecode, the task user) is what the template
 *   costs. Beside it, the seed recipe's way of building ("Python/Docker as SCDF Task": apt
 *   build-essential and the MySQL client headers, then mysqlclient and SQLAlchemy from source),
 *   written here from what it does, on the same base and built the same way.
 * - launch: one container run as SCDF's local deployer makes it (start → row RUNNING → row ended
 *   → exit), against a container of the same image that runs only the bare driver's connect and
 *   writes (bench/task-overhead/floor.py mounted in); the engine's own start and removal
 *   (`--entrypoint true`) is shown for scale. Interleaved, medians of BENCH_RUNS (default 9).
 *
 * The base is a stand-in for python:3.13-slim-trixie made with debootstrap (Docker Hub cannot be
 * reached here): absolute sizes differ from the official image's; what is added over it does not.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { DATABASE_PROFILES } from '../lib/core/databases.js';
import {
  BIN,
  cachedEnv,
  here,
  median,
  plan,
  root,
  run,
  scdfArguments,
  scratchDb,
  serverSettings,
  venv,
} from './support.js';

const runs = Number.parseInt(process.env.BENCH_RUNS ?? '9', 10);
const work = path.join(root, '.tools/bench-image');
const DATABASES = Object.keys(DATABASE_PROFILES);
const PYTHON_VERSION = '3.13'; // the stand-in base's
// The recipe's packages are unpinned there; pinned here so that the number is repeatable.
// pkg-config: mysqlclient 2.2 finds the client library with it (the recipe predates that).
const RECIPE_PACKAGES = ['mysqlclient==2.2.7', 'SQLAlchemy==1.4.54'];
const OVER_LOCK_GOAL = 1_000_000;
const LAUNCH_GOAL = 1.2;

const engineEnv = cachedEnv('containers.env');
if (!engineEnv.SCDF_TEST_PYTHON_BASE) {
  console.log(
    'image benchmark: no container engine set up (run bash scripts/setup-containers.sh as root)',
  );
  process.exit(0);
}
const base = engineEnv.SCDF_TEST_PYTHON_BASE;
const podman = (...args) => run('podman', args, { env: engineEnv, maxBuffer: 64 << 20 });

function build(context, tag) {
  const ca = engineEnv.SCDF_TEST_BUILD_CA;
  podman(
    'build',
    '--network=host',
    '-v',
    `${ca}:${ca}:ro`,
    '-v',
    `${engineEnv.SCDF_TEST_BUILD_PIP_CONF}:/etc/pip.conf:ro`,
    '-t',
    tag,
    context,
  );
}

/** The layers `image` adds over the base, oldest first, with what made them. */
function addedLayers(image) {
  const history = (name) => JSON.parse(podman('history', '--format', 'json', name)).reverse();
  const baseCount = history(base).length;
  return history(image)
    .slice(baseCount)
    .map((layer) => ({ size: layer.size, by: layer.CreatedBy ?? layer.createdBy ?? '' }));
}

const sum = (layers) => layers.reduce((total, layer) => total + layer.size, 0);
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
const kb = (bytes) => `${(bytes / 1e3).toFixed(0)} kB`;
function layerName(by) {
  if (/--require-hashes/.test(by)) return 'lock';
  if (/pip install/.test(by)) return 'requirements.txt';
  if (/compileall/.test(by)) return 'bytecode';
  if (/COPY dir:/.test(by)) return 'code';
  if (/COPY file:/.test(by)) return 'lock file';
  if (/COPY/.test(by)) return 'requirement files';
  if (/useradd/.test(by)) return 'user';
  return by.replace(/^\/bin\/sh -c (#\(nop\) )?/, '').slice(0, 20);
}

function generate(database) {
  const parent = path.join(work, database);
  rmSync(parent, { recursive: true, force: true });
  mkdirSync(parent, { recursive: true });
  run(
    process.execPath,
    [BIN, 'bench-image', '--database', database, '--python-version', PYTHON_VERSION, '--defaults'],
    { cwd: parent },
  );
  return path.join(parent, 'bench-image');
}

// --- size -------------------------------------------------------------------------------------
mkdirSync(work, { recursive: true });
const images = new Map();
const goals = [];
console.log(
  `image sizes over the base (${base}, a debootstrap stand-in; Python ${PYTHON_VERSION})`,
);
console.log(
  `${'database'.padEnd(11)} ${'added'.padStart(9)} ${'lock'.padStart(9)} ${'rest'.padStart(8)}  rest per layer`,
);
for (const database of DATABASES) {
  const tag = `localhost/bench-image/${database}:latest`;
  build(generate(database), tag);
  images.set(database, tag);
  const layers = addedLayers(tag);
  const lock = layers.filter((layer) => layerName(layer.by) === 'lock');
  const rest = layers.filter((layer) => layerName(layer.by) !== 'lock' && layer.size > 0);
  console.log(
    `${database.padEnd(11)} ${mb(sum(layers)).padStart(9)} ${mb(sum(lock)).padStart(9)} ` +
      `${kb(sum(rest)).padStart(8)}  ${rest.map((l) => `${layerName(l.by)} ${kb(l.size)}`).join(', ')}`,
  );
  goals.push(
    `  ${sum(rest) <= OVER_LOCK_GOAL ? 'met    ' : 'not met'} ${database}: image adds ≤ 1 MB beyond its lock: ${kb(sum(rest))}`,
  );
}

const recipeDir = path.join(work, 'recipe');
rmSync(recipeDir, { recursive: true, force: true });
mkdirSync(recipeDir, { recursive: true });
run('cp', [path.join(here, 'recipe_peer.py'), path.join(recipeDir, 'python_task.py')]);
writeFileSync(
  path.join(recipeDir, 'Dockerfile'),
  [
    `FROM ${base}`,
    'ENV DEBIAN_FRONTEND=noninteractive',
    'RUN apt-get update',
    // python3-dev: the official base carries Python's headers; the Debian stand-in needs them installed.
    'RUN apt-get install -y build-essential default-libmysqlclient-dev pkg-config python3-dev',
    `RUN pip install ${RECIPE_PACKAGES.join(' ')}`,
    'COPY python_task.py /dataflow-app/python_task.py',
    'ENTRYPOINT ["python", "/dataflow-app/python_task.py"]',
    '',
  ].join('\n'),
);
build(recipeDir, 'localhost/bench-image/recipe:latest');
const recipeAdded = sum(addedLayers('localhost/bench-image/recipe:latest'));
const oursMariadb = sum(addedLayers(images.get('mariadb')));
console.log(
  `${'recipe'.padEnd(11)} ${mb(recipeAdded).padStart(9)}  (apt build-essential, MySQL client headers, ` +
    `${RECIPE_PACKAGES.join(', ')}): ${(recipeAdded / oursMariadb).toFixed(1)}× the MariaDB image's ${mb(oursMariadb)}`,
);

// --- launch -----------------------------------------------------------------------------------
const servers = serverSettings();
const rows = (runs + 1) * 2;
const samples = new Map();
const floorPy = path.join(here, 'floor.py');
const scratchName = (server) => `${server.adminDatabase}_bench_image_${process.pid}`;
const hostPython = (server) =>
  path.join(
    venv(`floor-${server.vendor}`, DATABASE_PROFILES[server.vendor].requirements),
    'python',
  );

function containerRun(args) {
  const begun = performance.now();
  const result = spawnSync('podman', args, {
    encoding: 'utf8',
    env: { ...engineEnv, BENCH_FLOOR_PLAN: plan },
  });
  const ms = performance.now() - begun;
  if (result.status !== 0)
    throw new Error(
      `podman ${args.slice(0, 6).join(' ')} … exited ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  return ms;
}

const launchArgs = (server, id) => scdfArguments(server, scratchName(server), 'bench-image', id);

const variants = servers.flatMap((server) => {
  const image = images.get(server.vendor);
  return [
    {
      server,
      name: 'engine only',
      args: () => ['run', '--rm', '--network=host', '--entrypoint', 'true', image],
    },
    {
      server,
      name: 'floor',
      id: true,
      args: (id) => [
        ...[
          'run',
          '--rm',
          '--network=host',
          '-v',
          `${floorPy}:/bench/floor.py:ro`,
          '-e',
          'BENCH_FLOOR_PLAN',
        ],
        ...['--entrypoint', 'python', image, '/bench/floor.py', ...launchArgs(server, id)],
      ],
    },
    {
      server,
      name: 'ours',
      id: true,
      args: (id) => ['run', '--rm', '--network=host', image, ...launchArgs(server, id)],
    },
  ];
});
const nextId = new Map(servers.map((server) => [server, 1]));
function launch(variant) {
  const id = variant.id ? nextId.get(variant.server) : 0;
  if (variant.id) nextId.set(variant.server, id + 1);
  return containerRun(variant.args(id));
}

try {
  for (const server of servers) {
    const schema = path.join(root, `test/contract/schemas/scdf-2.11.5/${server.vendor}-TASK_.sql`);
    scratchDb(server, hostPython(server), scratchName(server), 'create', schema, String(rows));
  }
  for (const variant of variants) launch(variant); // warm-up: image layers in the page cache
  for (let i = 0; i < runs; i += 1) {
    for (const variant of variants) {
      samples.set(variant, [...(samples.get(variant) ?? []), launch(variant)]);
    }
  }
  for (const server of servers) {
    scratchDb(server, hostPython(server), scratchName(server), 'check', '1', String(rows));
  }
} finally {
  for (const server of servers) scratchDb(server, hostPython(server), scratchName(server), 'drop');
}

console.log(
  `\none container launch, ${runs} interleaved runs each, ${os.cpus().length} CPUs, podman ${podman('version', '--format', '{{.Client.Version}}').trim()}`,
);
console.log(
  `${'database / variant'.padEnd(24)} ${'median'.padStart(8)} ${'min'.padStart(6)} ${'max'.padStart(6)} ${'×floor'.padStart(7)}`,
);
for (const server of servers) {
  const of = (name) => variants.find((v) => v.server === server && v.name === name);
  const floorMs = median(samples.get(of('floor')));
  for (const variant of variants.filter((v) => v.server === server)) {
    const values = samples.get(variant);
    const ms = median(values);
    console.log(
      `${`${server.vendor} ${variant.name}`.padEnd(24)} ${`${ms.toFixed(0)} ms`.padStart(8)} ` +
        `${Math.min(...values)
          .toFixed(0)
          .padStart(6)} ${Math.max(...values)
          .toFixed(0)
          .padStart(6)} ` +
        `${(ms / floorMs).toFixed(2).padStart(7)}`,
    );
  }
  const ratio = median(samples.get(of('ours'))) / floorMs;
  goals.push(
    `  ${ratio <= LAUNCH_GOAL ? 'met    ' : 'not met'} ${server.vendor}: a launch ≤ ${LAUNCH_GOAL}× the bare-driver container: ${ratio.toFixed(2)}×`,
  );
}
console.log('\ngoals:');
for (const line of goals) console.log(line);
