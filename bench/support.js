/**
 * What the task benchmarks share: the database servers npm test's set-up configures, a scratch
 * database per server (bench/task-overhead/scratch_db.py), a venv of pinned packages, the
 * floor's plan of statements, and running a command with its output shown when it fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const here = path.join(root, 'bench/task-overhead');
export const tools = path.join(root, '.tools/bench-task');
export const BIN = path.join(root, 'lib/bin/create-scdf-task.js');

/**
 * The floor's database work: one list of statements per connection, each connection committed
 * and closed. It is what the generated task does for a launch with an execution id: the start
 * (the check that the row is not ended, the UPDATE, then the launch arguments into the params
 * table, one executemany) on one connection, the end on another. Override with BENCH_FLOOR_PLAN
 * (the same JSON shape).
 */
const FLOOR_PLAN = [
  [
    'SELECT END_TIME, START_TIME FROM TASK_EXECUTION WHERE TASK_EXECUTION_ID = %(id)s',
    'UPDATE TASK_EXECUTION SET START_TIME = %(now)s, LAST_UPDATED = %(now)s WHERE TASK_EXECUTION_ID = %(id)s',
    'INSERT INTO TASK_EXECUTION_PARAMS (TASK_EXECUTION_ID, TASK_PARAM) VALUES (%(id)s, %(param)s)',
  ],
  [
    'UPDATE TASK_EXECUTION SET END_TIME = %(now)s, EXIT_CODE = 0, EXIT_MESSAGE = NULL, ' +
      'ERROR_MESSAGE = NULL, LAST_UPDATED = %(now)s WHERE TASK_EXECUTION_ID = %(id)s',
  ],
];
export const plan = process.env.BENCH_FLOOR_PLAN ?? JSON.stringify(FLOOR_PLAN);

export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  return result.stdout;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Variables of a sourceable `export K=V` file under .cache, under the process's own. */
export function cachedEnv(name) {
  const file = path.join(root, '.cache', name);
  const script = `${existsSync(file) ? `. '${file}'; ` : ''}env -0`;
  return Object.fromEntries(
    execFileSync('bash', ['-c', script], { encoding: 'utf8', env: process.env })
      .split('\0')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** The servers, read the way test/contract/run.sh reads them. */
export function serverSettings() {
  const env = cachedEnv('databases.env');
  const server = (prefix, vendor) => {
    const get = (name) => env[`SCDF_TEST_${prefix}_${name}`];
    if (!get('HOST')) throw new Error(`no ${vendor} server: run npm test's set-up first`);
    return {
      vendor,
      host: get('HOST'),
      port: get('PORT'),
      user: get('USER'),
      password: get('PASSWORD'),
      adminDatabase: get('DATABASE'),
    };
  };
  return [server('PG', 'postgresql'), server('MARIADB', 'mariadb')];
}

/** A venv under .tools/bench-task with `requirements`, made again when they change. */
export function venv(name, requirements) {
  const dir = path.join(tools, name);
  const stamp = path.join(dir, 'requirements.stamp');
  const wanted = requirements.join('\n');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return path.join(dir, 'bin');
  console.log(`installing ${requirements.join(', ')} into .tools/bench-task/${name} ...`);
  rmSync(dir, { recursive: true, force: true });
  run('python3', ['-m', 'venv', dir]);
  run(path.join(dir, 'bin/pip'), [
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--only-binary=:all:',
    ...requirements,
  ]);
  writeFileSync(stamp, wanted);
  return path.join(dir, 'bin');
}

/**
 * `scratch_db.py create|check|drop` on `server`, in a database named after the login's own: the
 * provisioned MariaDB login may create only `<database>_*` databases. `python` has the driver.
 */
export function scratchDb(server, python, name, command, ...args) {
  run(python, [path.join(here, 'scratch_db.py'), server.vendor, command, name, ...args], {
    env: {
      ...process.env,
      BENCH_DB_HOST: server.host,
      BENCH_DB_PORT: server.port,
      BENCH_DB_USER: server.user,
      BENCH_DB_PASSWORD: server.password,
      BENCH_DB_ADMIN_DATABASE: server.adminDatabase,
    },
  });
}

const driverClass = (vendor) =>
  vendor === 'postgresql' ? 'org.postgresql.Driver' : 'org.mariadb.jdbc.Driver';

/**
 * The arguments SCDF's exec entry point style passes for execution `id` of `task` in `database`
 * on `server`, with the sample's 0-second body.
 */
export function scdfArguments(server, database, task, id) {
  return [
    `--spring.datasource.url=jdbc:${server.vendor}://${server.host}:${server.port}/${database}`,
    `--spring.datasource.username=${server.user}`,
    `--spring.datasource.password=${server.password}`,
    `--spring.datasource.driverClassName=${driverClass(server.vendor)}`,
    `--spring.cloud.task.name=${task}`,
    '--work.seconds=0',
    `--spring.cloud.task.executionid=${id}`,
  ];
}
