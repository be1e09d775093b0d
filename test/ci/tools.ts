import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';
import { findPython } from '../support/pythons.js';
import { PYTHON_VERSIONS } from '../../core/validators.js';

/** The pinned CI tools scripts/setup-ci-tools.sh built into its cache, by name. */
export interface CiTools {
  readonly actionlint: string;
  readonly act: string;
  readonly checkJsonschema: string;
  readonly gitlabCiLocal: string;
  /** The folder holding Node 22, which gitlab-ci-local needs first on PATH. */
  readonly node22Path: string;
}

/** Fails, never skips: scripts/test.sh runs scripts/setup-ci-tools.sh before the tests. */
export function ciTools(): CiTools {
  const file = path.join(REPO_ROOT, '.cache/ci-tools.env');
  if (!existsSync(file))
    throw new Error(
      `${file} is missing: run bash scripts/setup-ci-tools.sh (scripts/test.sh does)`,
    );
  const values = Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  ) as Record<string, string | undefined>;
  const get = (key: string): string => {
    const value = values[key];
    if (value === undefined || !existsSync(value))
      throw new Error(`${file}: ${key} is missing or names no file; run scripts/setup-ci-tools.sh`);
    return value;
  };
  return {
    actionlint: get('ACTIONLINT_BIN'),
    act: get('ACT_BIN'),
    checkJsonschema: get('CHECK_JSONSCHEMA_BIN'),
    gitlabCiLocal: get('GITLAB_CI_LOCAL_BIN'),
    node22Path: get('NODE22_PATH'),
  };
}

export interface Ran {
  readonly status: number | null;
  readonly output: string;
}

/**
 * Runs a command without blocking the event loop (a test's local HTTP recorder answers
 * meanwhile); stdout and stderr interleaved, as a CI log shows them.
 */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      output += `\n[killed after ${String(options.timeoutMs)} ms]`;
    }, options.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      // Colours off: a log reads as its text.
      // eslint-disable-next-line no-control-regex
      resolve({ status, output: output.replace(/\x1b(\[[0-9;?]*[A-Za-z]|\([A-Z0-9])/g, '') });
    });
  });
}

/**
 * The newest Python of the generated project's choices installed here, and a folder whose
 * `python` and `python3` are it: what a runner's `python3` is for a project of that version.
 */
export function hostPython(): { version: string; bin: string } {
  for (const version of [...PYTHON_VERSIONS].reverse()) {
    const interpreter = findPython(version);
    if (interpreter === undefined) continue;
    const bin = path.join(tempDir('scdf-ci-python-'), 'bin');
    mkdirSync(bin);
    for (const name of ['python', 'python3', `python${version}`])
      symlinkSync(interpreter, path.join(bin, name));
    return { version, bin };
  }
  throw new Error(`no Python of ${PYTHON_VERSIONS.join(', ')} is installed`);
}
