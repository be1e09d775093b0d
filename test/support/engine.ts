/**
 * The container engine of the image tests: podman, as scripts/setup-containers.sh sets it up
 * (settings in .cache/containers.env). No Docker daemon runs here and Docker Hub cannot be
 * reached, so the generated Dockerfile's `FROM python:3.13-slim-trixie` is a stand-in base made
 * with debootstrap (Debian's Python, not the official image's build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

const ENV_FILE = path.join(REPO_ROOT, '.cache/containers.env');

/** The settings setup-containers.sh wrote, under the process's own (which win). */
function engineSettings(): Record<string, string> {
  const settings: Record<string, string> = {};
  if (existsSync(ENV_FILE)) {
    for (const line of readFileSync(ENV_FILE, 'utf8').split('\n')) {
      const match = /^export ([A-Z_]+)=(.*)$/.exec(line);
      if (match?.[1] && match[2] !== undefined) settings[match[1]] = match[2];
    }
  }
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('SCDF_TEST_') || key === 'CONTAINERS_CONF') {
      if (value !== undefined) settings[key] = value;
    }
  }
  return settings;
}

export interface EngineResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class Engine {
  private constructor(private readonly settings: Record<string, string>) {}

  /**
   * The engine, or why there is none. In CI a missing engine is an error (nothing may skip);
   * elsewhere the image tests skip with the reason.
   */
  static find(): Engine | string {
    const settings = engineSettings();
    if (!settings['SCDF_TEST_PYTHON_BASE']) {
      return `no container engine set up (${path.relative(REPO_ROOT, ENV_FILE)} missing): run bash scripts/setup-containers.sh as root`;
    }
    const probe = spawnSync('podman', ['version', '--format', '{{.Client.Version}}'], {
      encoding: 'utf8',
      env: { ...process.env, ...settings },
    });
    if (probe.status !== 0) return `podman does not answer: ${probe.stderr || probe.error}`;
    return new Engine(settings);
  }

  get pythonBase(): string {
    return this.settings['SCDF_TEST_PYTHON_BASE'] ?? '';
  }

  run(args: readonly string[], input = ''): EngineResult {
    const result = spawnSync('podman', args, {
      encoding: 'utf8',
      input,
      env: { ...process.env, ...this.settings },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** Runs podman; a non-zero exit throws with everything it printed. */
  ok(args: readonly string[], input = ''): string {
    const result = this.run(args, input);
    if (result.status !== 0) {
      throw new Error(
        `podman ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`,
      );
    }
    return result.stdout;
  }

  /**
   * `docker build` of a project folder as a user runs it, plus only what this machine needs to
   * reach PyPI: the host network and its CA bundle for pip, mounted for the build, never baked in.
   */
  build(contextDir: string, tag: string): EngineResult {
    return this.run(['build', ...this.pipAccess(), '-t', tag, contextDir]);
  }

  /** Options of `build` or `run` that let pip inside reach PyPI: host network, CA bundle. */
  pipAccess(): string[] {
    const ca = this.settings['SCDF_TEST_BUILD_CA'] ?? '/etc/ssl/certs/ca-certificates.crt';
    const pipConf = this.settings['SCDF_TEST_BUILD_PIP_CONF'] ?? '';
    return ['--network=host', '-v', `${ca}:${ca}:ro`, '-v', `${pipConf}:/etc/pip.conf:ro`];
  }

  /** A setting of .cache/containers.env (or the environment), such as an image's name. */
  setting(key: string): string | undefined {
    return this.settings[key];
  }
}

/** The engine, failing in CI and skipping elsewhere when there is none. */
export function engineOrSkip(): Engine | undefined {
  const found = Engine.find();
  if (typeof found !== 'string') return found;
  if (process.env.CI === 'true' || process.env.SCDF_TEST_REQUIRE_DATABASES === '1') {
    throw new Error(`the image tests are required here, but ${found}`);
  }
  console.warn(`image tests skipped: ${found}`);
  return undefined;
}
