/**
 * The generated image, built for real with a container engine (podman; see test/support/engine.ts)
 * for every database: the generated Dockerfile and .dockerignore unchanged, on a stand-in of the
 * official Python base made here with debootstrap (Docker Hub cannot be reached). What SCDF and
 * Kubernetes rely on is checked inside the built image, not read from the Dockerfile: every
 * driver's lock installs from wheels, /app holds exactly what the .dockerignore simulation
 * predicts, the task user, read-only code, no compiler, valid bytecode, labels, and what the
 * image adds over its lock. Runs against a database are in test/image (the image suite).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { templateContext } from '../../core/template-context.js';
import { DATABASES } from '../../core/validators.js';
import { engineOrSkip, type Engine } from '../support/engine.js';
import { renderProject, simulateImage } from './fixture.js';

const engine = engineOrSkip();
const describeWithEngine = engine ? describe : describe.skip;
// The stand-in base is Debian trixie's Python.
const PYTHON_VERSION = '3.13';
const PYC_TAG = 'cpython-313';
const BUILD_TIMEOUT_MS = 600_000;
// What the image may add beyond its installed lock (the floor): the code, its bytecode, the user.
const OVER_LOCK_BYTES = 1_000_000;

// Checks every module's bytecode the way the interpreter does before it uses it (the timestamp
// header of compileall's default: magic, flags 0, source mtime and size), run inside the image.
const BYTECODE_CHECK = `
import importlib.util, pathlib, struct, sys
stale = []
for source in sorted(pathlib.Path("/app").rglob("*.py")):
    cached = pathlib.Path(importlib.util.cache_from_source(str(source)))
    if not cached.exists():
        stale.append(f"{source}: no {cached.name}")
        continue
    head = cached.read_bytes()[:16]
    flags, mtime, size = struct.unpack("<III", head[4:16])
    st = source.stat()
    if head[:4] != importlib.util.MAGIC_NUMBER or flags != 0 or mtime != int(st.st_mtime) & 0xFFFFFFFF or size != st.st_size & 0xFFFFFFFF:
        stale.append(f"{source}: {cached.name} does not match")
print("\\n".join(stale) or "all current")
`;

interface Layer {
  readonly size: number;
  readonly createdBy: string;
}

function layers(image: string, podman: Engine): Layer[] {
  const history = JSON.parse(podman.ok(['history', '--format', 'json', image])) as {
    size: number;
    CreatedBy?: string;
    createdBy?: string;
  }[];
  return history
    .map((layer) => ({ size: layer.size, createdBy: layer.CreatedBy ?? layer.createdBy ?? '' }))
    .reverse();
}

describeWithEngine.each(DATABASES)('the %s image, built with podman', (database) => {
  const podman = engine as Engine;
  const project = renderProject({
    database,
    taskName: `image-${database}`,
    pythonVersion: PYTHON_VERSION,
  });
  const { imageRef } = templateContext(project.answers);
  const inImage = (entrypoint: string, ...args: string[]) =>
    podman.run(['run', '--rm', '--network=none', '--entrypoint', entrypoint, imageRef, ...args]);

  beforeAll(() => {
    const built = podman.build(project.dir, imageRef);
    if (built.status !== 0) {
      throw new Error(
        `docker build of the ${database} project failed (${built.status}):\n${built.stdout}\n${built.stderr}`,
      );
    }
  }, BUILD_TIMEOUT_MS);

  afterAll(() => {
    podman.run(['rmi', '--force', imageRef]);
  });

  test('/app holds exactly what the .dockerignore simulation predicts, plus bytecode', () => {
    const predicted = simulateImage(project.dir).copied;
    const listed = podman.ok([
      'run',
      '--rm',
      '--network=none',
      '--entrypoint',
      'find',
      imageRef,
      '/app',
      '-type',
      'f',
    ]);
    const files = listed
      .split('\n')
      .filter((line) => line !== '')
      .sort();
    const sources = files.filter((file) => !file.includes('/__pycache__/'));
    expect(sources).toEqual([...predicted].sort());
    const bytecode = files.filter((file) => file.includes('/__pycache__/'));
    expect(bytecode).toEqual(
      predicted
        .filter((file) => file.endsWith('.py'))
        .map((file) => {
          const { dir, name } = path.posix.parse(file);
          return `${dir}/__pycache__/${name}.${PYC_TAG}.pyc`;
        })
        .sort(),
    );
  });

  test('the task runs as 10001:10001 and cannot change /app, which root owns', () => {
    expect(inImage('id').stdout).toBe('uid=10001(task) gid=10001(task) groups=10001(task)\n');
    const owners = inImage('stat', '-c', '%u:%g %n', '/app', '/app/python_task.py', '/app/util');
    expect(owners.stdout).toBe('0:0 /app\n0:0 /app/python_task.py\n0:0 /app/util\n');
    const write = inImage('sh', '-c', 'touch /app/x; touch /app/util/x; mkdir /app/__pycache__/x');
    expect(write.status).toBe(1);
    expect(write.stderr.match(/Permission denied/g)).toHaveLength(3);
  });

  test('the exec-form entry point makes Python PID 1 with the task as its script', () => {
    const config = JSON.parse(
      podman.ok(['image', 'inspect', '--format', '{{json .Config}}', imageRef]),
    ) as { Entrypoint: string[]; Cmd: string[] | null; User: string };
    expect(config.Entrypoint).toEqual(['python', '/app/python_task.py']);
    expect(config.Cmd ?? []).toEqual([]);
    expect(config.User).toBe('10001:10001');
    // The same interpreter, started the way the entry point starts it, is PID 1.
    expect(inImage('python', '-c', 'import os; print(os.getpid())').stdout).toBe('1\n');
  });

  test('no compiler or build tool is in the image', () => {
    const found = inImage(
      'sh',
      '-c',
      'for t in gcc cc c++ g++ clang make ld as; do command -v $t; done; true',
    );
    expect(found.stdout).toBe('');
  });

  test('the bytecode of every module is current, so a launch compiles nothing', () => {
    const checked = inImage('python', '-c', BYTECODE_CHECK);
    expect(checked.stderr).toBe('');
    expect(checked.stdout).toBe('all current\n');
  });

  test('the labels carry the image reference and the generator version', () => {
    const labels = JSON.parse(
      podman.ok(['image', 'inspect', '--format', '{{json .Labels}}', imageRef]),
    ) as Record<string, string>;
    const context = templateContext(project.answers);
    expect(labels['scdf-task.image-ref']).toBe(imageRef);
    expect(labels['scdf-task.generator-version']).toBe(context.generatorVersion);
    expect(labels['org.opencontainers.image.title']).toBe(project.answers.taskName);
    expect(labels['org.opencontainers.image.version']).toBe(project.answers.imageTag);
  });

  test('beyond its installed lock, the image adds at most 1 MB', () => {
    const added = layers(imageRef, podman).slice(layers(podman.pythonBase, podman).length);
    const lock = added.filter((layer) => /--require-hashes/.test(layer.createdBy));
    expect(lock).toHaveLength(1);
    const rest = added.filter((layer) => !/--require-hashes/.test(layer.createdBy));
    const restBytes = rest.reduce((sum, layer) => sum + layer.size, 0);
    expect(restBytes).toBeLessThanOrEqual(OVER_LOCK_BYTES);
    // A real install: the smallest lock, MariaDB's PyMySQL alone, is about 0.4 MB.
    expect(lock[0]?.size ?? 0).toBeGreaterThan(200_000);
  });
});
