/**
 * Runs the image's entry point the way the container would, without Docker: the project is laid
 * out as the Dockerfile's COPY puts it in /app (minus .dockerignore), the requirements are
 * installed with the Dockerfile's own pip command into a venv, and the ENTRYPOINT + CMD from the
 * Dockerfile run with the Dockerfile's ENV, as uid 10001 when the test runs as root, with the
 * arguments SCDF appends. The database is a SQLite file holding the task tables and a row inserted
 * the way SCDF does before a launch; the test reads back what the task wrote.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { tempDir } from '../support/cli.js';
import { PYPI_ONLY_ENV } from '../support/venv.js';
import {
  execForm,
  keyValues,
  parseDockerfile,
  renderProject,
  simulateImage,
  type Instruction,
} from './fixture.js';

const TASK = 'python-task';
const TASK_UID = 10001;
// Holds every character a JDBC URL or a log line could trip over; must never be printed.
const PASSWORD = 'p@ss:w/rd%#?&=;{}';
const AS_ROOT = process.getuid?.() === 0;

interface Row {
  TASK_EXECUTION_ID: number;
  START_TIME: string | null;
  END_TIME: string | null;
  TASK_NAME: string | null;
  EXIT_CODE: number | null;
  EXIT_MESSAGE: string | null;
  ERROR_MESSAGE: string | null;
  LAST_UPDATED: string | null;
  EXTERNAL_EXECUTION_ID: string | null;
  PARENT_EXECUTION_ID: number | null;
}

// The <prefix>EXECUTION and <prefix>EXECUTION_PARAMS columns of the SCDF task contract (§3).
const SCHEMA = (prefix: string) => `
CREATE TABLE ${prefix}EXECUTION (
  TASK_EXECUTION_ID INTEGER NOT NULL PRIMARY KEY, START_TIME TIMESTAMP, END_TIME TIMESTAMP,
  TASK_NAME VARCHAR(100), EXIT_CODE INTEGER, EXIT_MESSAGE VARCHAR(2500),
  ERROR_MESSAGE VARCHAR(2500), LAST_UPDATED TIMESTAMP, EXTERNAL_EXECUTION_ID VARCHAR(255),
  PARENT_EXECUTION_ID INTEGER);
CREATE TABLE ${prefix}EXECUTION_PARAMS (TASK_EXECUTION_ID INTEGER NOT NULL, TASK_PARAM VARCHAR(2500));
`;

/** Runs a small Python program (stdlib sqlite3 only) on the database file; returns its stdout. */
function sqlite(dbFile: string, program: string, ...args: string[]): string {
  return execFileSync(
    'python3',
    [
      '-c',
      `import json, sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\n${program}`,
      dbFile,
      ...args,
    ],
    { encoding: 'utf8' },
  );
}

/** A fresh SCDF database: both table generations, and the row SCDF inserts before a launch. */
function scdfDatabase(executionId: number): string {
  const dir = tempDir('scdf-db-');
  // The task user writes the file and SQLite's journal next to it.
  if (AS_ROOT) chownSync(dir, TASK_UID, TASK_UID);
  chmodSync(dir, 0o755);
  const file = path.join(dir, 'scdf.db');
  sqlite(
    file,
    `db.executescript(sys.argv[2] + sys.argv[3])
for prefix in ("TASK_", "BOOT3_TASK_"):
    # SCDF: committed before the launch, START_TIME and EXIT_CODE null, TASK_NAME set.
    db.execute(f"INSERT INTO {prefix}EXECUTION (TASK_EXECUTION_ID, TASK_NAME) VALUES (?, ?)", (int(sys.argv[4]), "${TASK}"))
db.commit()`,
    SCHEMA('TASK_'),
    SCHEMA('BOOT3_TASK_'),
    String(executionId),
  );
  if (AS_ROOT) chownSync(file, TASK_UID, TASK_UID);
  return file;
}

function readRow(dbFile: string, prefix: string, executionId: number): Row {
  const out = sqlite(
    dbFile,
    `db.row_factory = sqlite3.Row
row = db.execute(f"SELECT * FROM {sys.argv[2]}EXECUTION WHERE TASK_EXECUTION_ID = ?", (int(sys.argv[3]),)).fetchone()
print(json.dumps(dict(row)))`,
    prefix,
    String(executionId),
  );
  return JSON.parse(out) as Row;
}

function readParams(dbFile: string, prefix: string, executionId: number): string[] {
  const out = sqlite(
    dbFile,
    `rows = db.execute(f"SELECT TASK_PARAM FROM {sys.argv[2]}EXECUTION_PARAMS WHERE TASK_EXECUTION_ID = ?", (int(sys.argv[3]),)).fetchall()
print(json.dumps(sorted(r[0] for r in rows)))`,
    prefix,
    String(executionId),
  );
  return JSON.parse(out) as string[];
}

/**
 * The interpreter to build the venv from. As root the task runs as uid 10001, which must be able
 * to read the interpreter's installation: a pyenv Python under /root is not; Debian's is.
 */
function basePython(): string {
  if (!AS_ROOT) return 'python3';
  // Absolute paths: probing a bare name as uid 10001 would search PATH from that user's view.
  const onPath = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  }).trim();
  const candidates = [onPath, '/usr/bin/python3'];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-c', 'import ensurepip, sqlite3, venv'], {
      uid: TASK_UID,
      gid: TASK_UID,
      cwd: '/',
    });
    if (probe.status === 0) return candidate;
  }
  throw new Error(
    `none of ${candidates.join(', ')} runs as uid ${String(TASK_UID)} with venv and ensurepip; ` +
      'install python3-venv (Debian) so that the task user can run it',
  );
}

const project = renderProject({ database: 'mariadb', taskName: TASK, pythonVersion: '3.11' });
const instructions = parseDockerfile(project.read('Dockerfile'));
const ofKind = (keyword: string): Instruction[] =>
  instructions.filter((i) => i.keyword === keyword);
const image = simulateImage(project.dir);
const venv = tempDir('scdf-image-venv-');
chmodSync(venv, 0o755);
const VENV_BIN = path.join(venv, 'bin');

/** The environment of the container: the Dockerfile's ENV, the venv as the image's Python. */
function containerEnv(extra: Record<string, string> = {}): Record<string, string> {
  const home = tempDir('scdf-home-');
  if (AS_ROOT) chownSync(home, TASK_UID, TASK_UID);
  return {
    ...Object.fromEntries(keyValues(instructions, 'ENV')),
    PATH: `${VENV_BIN}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    ...extra,
  };
}

interface Container {
  readonly done: Promise<{ status: number | null; signal: string | null; output: string }>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts ENTRYPOINT + CMD + SCDF's arguments, image paths mapped to the simulated /app. */
function runContainer(args: readonly string[], env: Record<string, string>): Container {
  const [program = '', ...rest] = [
    ...execForm(ofKind('ENTRYPOINT').at(-1)),
    ...execForm(ofKind('CMD').at(-1)),
    ...args,
  ];
  const argv = rest.map((arg) => (arg.startsWith('/app/') ? image.hostPath(arg) : arg));
  const child = spawn(program, argv, {
    cwd: image.hostPath(image.workdir),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(AS_ROOT ? { uid: TASK_UID, gid: TASK_UID } : {}),
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const done = new Promise<{ status: number | null; signal: string | null; output: string }>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (status, signal) => {
        resolve({ status, signal, output });
      });
    },
  );
  return { done, kill: (signal) => child.kill(signal) };
}

/** The datasource and task properties SCDF hands every launch (contract §1). */
function scdfProperties(dbFile: string): Record<string, string> {
  return {
    'spring.cloud.task.name': TASK,
    'spring.datasource.url': `jdbc:sqlite:${dbFile}`,
    'spring.datasource.username': 'scdf',
    'spring.datasource.password': PASSWORD,
    'spring.datasource.driverClassName': 'org.sqlite.JDBC',
  };
}

const running: Container[] = [];
afterEach(() => {
  for (const container of running.splice(0)) container.kill('SIGKILL');
});

afterAll(() => {
  // The venv is the big one (the drivers' wheels); the rest are small temp folders.
  rmSync(venv, { recursive: true, force: true });
  rmSync(image.root, { recursive: true, force: true });
});

beforeAll(() => {
  // The Dockerfile's own install commands in order (the lock, then the user's requirements),
  // with the venv's pip standing in for the image's, from PyPI alone.
  const pip = ofKind('RUN')
    .map((i) => i.args)
    .filter((run) => run.startsWith('pip install '));
  expect(pip).toHaveLength(2);
  execFileSync(basePython(), ['-m', 'venv', venv], { stdio: 'inherit' });
  const install = (args: readonly string[]) => {
    execFileSync(path.join(VENV_BIN, 'pip'), args, {
      cwd: image.hostPath(image.workdir),
      env: {
        ...process.env,
        ...PYPI_ONLY_ENV,
        ...Object.fromEntries(keyValues(instructions, 'ENV')),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  };
  for (const run of pip) install(run.split(/\s+/).slice(1));
}, 600_000);

describe('the image entry point', () => {
  test('exec style (Kubernetes default), SCDF 2.11 Boot 3: the row ends COMPLETE in BOOT3_TASK_', async () => {
    const id = 7;
    const db = scdfDatabase(id);
    // exec: every property as --key=value, then the launch arguments, the execution id last.
    const properties = {
      ...scdfProperties(db),
      'spring.cloud.task.tablePrefix': 'BOOT3_TASK_',
      'spring.cloud.task.schemaTarget': 'boot3',
      'spring.cloud.task.initialize-enabled': 'false',
      'spring.batch.jdbc.table-prefix': 'BOOT3_BATCH_',
      'spring.cloud.deployer.bootVersion': '3',
    };
    const args = [
      ...Object.entries(properties).map(([key, value]) => `--${key}=${value}`),
      '--work.seconds=0',
      `--spring.cloud.task.executionid=${String(id)}`,
    ];
    const container = runContainer(args, containerEnv());
    running.push(container);
    const result = await container.done;
    expect({ status: result.status, output: result.output }).toEqual({
      status: 0,
      output: expect.stringContaining(`Python task ${TASK} started: execution ${String(id)}`),
    });
    const row = readRow(db, 'BOOT3_TASK_', id);
    expect(row).toEqual({
      TASK_EXECUTION_ID: id,
      TASK_NAME: TASK,
      START_TIME: expect.any(String),
      END_TIME: expect.any(String),
      LAST_UPDATED: expect.any(String),
      EXIT_CODE: 0,
      EXIT_MESSAGE: null,
      ERROR_MESSAGE: null,
      EXTERNAL_EXECUTION_ID: null,
      PARENT_EXECUTION_ID: null,
    });
    expect(readParams(db, 'BOOT3_TASK_', id)).toContain('--work.seconds=0');
    // The same id in the Boot 2 tables is another execution: untouched.
    expect(readRow(db, 'TASK_', id)).toMatchObject({
      START_TIME: null,
      END_TIME: null,
      EXIT_CODE: null,
    });
    expect(result.output).not.toContain(PASSWORD);
  });

  test('SCDF local server (docker run with SPRING_APPLICATION_JSON): a failing task ends ERROR', async () => {
    const id = 12;
    const db = scdfDatabase(id);
    const env = containerEnv({ SPRING_APPLICATION_JSON: JSON.stringify(scdfProperties(db)) });
    const container = runContainer(
      [
        '--work.seconds=0',
        '--error.message=Simulated failure',
        `--spring.cloud.task.executionid=${String(id)}`,
      ],
      env,
    );
    running.push(container);
    const result = await container.done;
    expect(result.status).not.toBe(0);
    const row = readRow(db, 'TASK_', id);
    expect(row).toMatchObject({
      EXIT_MESSAGE: null,
      START_TIME: expect.any(String),
      END_TIME: expect.any(String),
    });
    expect(row.EXIT_CODE).toBe(result.status);
    expect(row.ERROR_MESSAGE).toContain('Simulated failure');
  });

  test('SIGTERM (task execution stop) goes straight to Python, which records the end with exit code 143', async () => {
    const id = 3;
    const db = scdfDatabase(id);
    const args = [
      ...Object.entries(scdfProperties(db)).map(([key, value]) => `--${key}=${value}`),
      '--work.seconds=60',
      `--spring.cloud.task.executionid=${String(id)}`,
    ];
    const container = runContainer(args, containerEnv());
    running.push(container);
    // Wait until the task has recorded its start, as SCDF's RUNNING.
    const deadline = Date.now() + 30_000;
    while (readRow(db, 'TASK_', id).START_TIME === null) {
      if (Date.now() > deadline) throw new Error('the task never recorded its start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    container.kill('SIGTERM');
    const result = await container.done;
    expect(result.status).toBe(143);
    expect(readRow(db, 'TASK_', id)).toMatchObject({
      EXIT_CODE: 143,
      EXIT_MESSAGE: null,
      END_TIME: expect.any(String),
    });
  });

  test('nothing was written into /app while running', () => {
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? walk(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
      );
    const app = image.hostPath('/app');
    const found = walk(app).map((file) => `/app/${path.relative(app, file)}`);
    expect(found.sort()).toEqual([...image.copied]);
    expect(existsSync(path.join(app, 'util/__pycache__'))).toBe(false);
  });
});
