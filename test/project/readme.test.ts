/**
 * The generated README and its guides in docs/: a true list of the generated files with their
 * owners (docs/files.md), the commands they promise, the Boot 2 / Boot 3 differences, and a README
 * short enough to read first. Plus what holds for all of this area's
 * templates: `<%-` only, so nothing reaches a file HTML-escaped.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { EXIT } from '../../core/errors.js';
import { TEMPLATES_ROOT } from '../../core/project-files.js';
import { CHECK_LABELS } from '../../core/report.js';
import { DATABASES } from '../../core/validators.js';
import { renderProject } from './fixture.js';

const MY_TEMPLATES = [
  'managed/Dockerfile',
  'managed/dockerignore',
  'managed/README.md',
  'managed/docs/batch-jobs.md',
  'managed/docs/composed-tasks.md',
  'managed/docs/database.md',
  'managed/docs/files.md',
  'managed/docs/kubernetes.md',
  'managed/docs/launch-styles.md',
  'managed/docs/rest.md',
  'managed/docs/schedules.md',
  'managed/docs/template-updates.md',
  'managed/scripts/scdf-rest.sh',
  'managed/scdf/cleanup.shell',
  'managed/scdf/composed-parallel.shell',
  'managed/scdf/composed-sequence.shell',
  'managed/scdf/executions.shell',
  'managed/scdf/launch-failing.shell',
  'managed/scdf/launch.shell',
  'managed/scdf/register.shell',
];

describe.each(['2', '3'] as const)('README for bootVersion %s', (bootVersion) => {
  const project = renderProject({ bootVersion, database: 'postgresql', taskName: 'billing-sync' });
  const readme = project.read('README.md');
  const guides = project.files.filter((file) => file.path.startsWith('docs/'));
  // The README and every guide, for what is promised somewhere in the project's documentation.
  const allDocs = [readme, ...guides.map((file) => project.read(file.path))].join('\n');
  const rows = new Map(
    [
      ...project
        .read('docs/files.md')
        .matchAll(/^\| `([^`]+)` \| (managed|user|generator) \| (.*) \|$/gm),
    ].map((m) => [m[1] ?? '', { owner: m[2] ?? '', job: m[3] ?? '' }]),
  );

  test('lists every generated file once, with its owner and what it is for', () => {
    const expected = new Map(project.files.map((file) => [file.path, file.owner as string]));
    expected.set('.yo-rc.json', 'generator');
    expect([...rows.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [file, row] of rows) {
      expect({ file, owner: row.owner }).toEqual({ file, owner: expected.get(file) });
      expect({ file, job: row.job.trim() }).toEqual({ file, job: expect.stringMatching(/\S/) });
    }
  });

  test('shows the commands it promises', () => {
    for (const text of [
      `python3 -m venv .venv && . .venv/bin/activate\npip install --require-hashes -r requirements-scdf.txt && pip install -r requirements-dev.txt`,
      '\npytest ',
      'python -m util.local_run',
      'docker build -t ',
      '--spring.shell.commandFile=scdf/register.shell',
      'scripts/scdf-rest.sh',
      'deployer.<app>.kubernetes.entryPointStyle',
      '`exec`',
      '`shell`',
      '`boot`',
      'SPRING_APPLICATION_JSON',
      'EXIT_MESSAGE',
      'create-scdf-task --check',
      'yo scdf-task',
      'PostgreSQL',
      '`psycopg[binary]==',
      // The Kubernetes guide, whose commands test/kubernetes launches as written.
      '# On Kubernetes',
      'task launch billing-sync --properties "deployer.billing-sync.kubernetes.imagePullPolicy=IfNotPresent,',
      'task launch billing-sync --properties "deployer.billing-sync.kubernetes.secretKeyRefs=[',
      'use-kubernetes-secrets-for-db-credentials=true',
      'task schedule create --name billing-sync-nightly --definitionName billing-sync',
      'deploymentLabels=spring-app-id:billing-sync-nightly,app.billing-sync.spring.cloud.task.external-execution-id=billing-sync-nightly',
    ]) {
      expect(allDocs).toContain(text);
    }
  });

  test('the README is short enough to read first and links every guide', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
    for (const guide of guides) expect(readme).toContain(`](${guide.path})`);
  });

  test('every relative link among the README and its guides reaches a file and its heading', () => {
    const anchors = (text: string): string[] =>
      [...text.replace(/^```[\s\S]*?^```$/gm, '').matchAll(/^#+ (.*)$/gm)].map(([, heading = '']) =>
        heading
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N}_\- ]/gu, '')
          .replaceAll(' ', '-'),
      );
    const broken: string[] = [];
    for (const doc of ['README.md', ...guides.map((file) => file.path)]) {
      for (const [, target = ''] of project.read(doc).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [file = '', hash] = target.split('#');
        const resolved =
          file === '' ? doc : path.posix.normalize(path.posix.join(path.posix.dirname(doc), file));
        const exists = project.files.some((f) => f.path === resolved);
        if (!exists) broken.push(`${doc}: ${target}: no such file`);
        else if (hash !== undefined && !anchors(project.read(resolved)).includes(hash))
          broken.push(`${doc}: ${target}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('describes updates as the generator makes them: its --check states and exit codes', () => {
    const updates = readme.slice(readme.indexOf('## Template updates'));
    const states = updates.match(/each file\s+that is not up to date with its state \(([^)]*)\)/);
    const named = [...(states?.[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const label of named) expect(Object.values(CHECK_LABELS)).toContain(label);
    const codes = [...updates.matchAll(/^\| `(\d+)` \|/gm)].map((m) => Number(m[1]));
    expect(codes.sort()).toEqual([EXIT.ok, EXIT.drift, EXIT.error, EXIT.conflict].sort());
    expect(updates).toContain('create-scdf-task --task-name new-name');
  });

  test('no generated file claims it is rewritten or left alone by updates', () => {
    const stale =
      /rewritten (on|when)|would be overwritten|never touches|leaves it alone|writes it once/i;
    for (const file of project.files) {
      expect({ file: file.path, stale: project.read(file.path).match(stale)?.[0] }).toEqual({
        file: file.path,
        stale: undefined,
      });
    }
  });

  test('says how this Boot version registers and launches', () => {
    if (bootVersion === '3') {
      expect(readme).toContain('--bootVersion 3 --force');
      expect(allDocs).toContain('`POST /tasks/executions/launch`');
      expect(readme).toContain('`BOOT3_TASK_EXECUTION`');
    } else {
      expect(allDocs).not.toContain('--bootVersion 3 --force');
      expect(allDocs).not.toContain('`POST /tasks/executions/launch`');
      expect(readme).toContain('`TASK_EXECUTION`');
      expect(allDocs).toContain('--boot-version 3');
    }
  });
});

describe('templates of the image, scripts and README', () => {
  test.each(MY_TEMPLATES)('%s uses <%%- only', (template) => {
    const source = readFileSync(path.join(TEMPLATES_ROOT, template), 'utf8');
    expect(source).not.toContain('<%=');
  });

  test('render without HTML entities or template leftovers, for every database', () => {
    const outputs = MY_TEMPLATES.map((t) =>
      t.replace(/^managed\//, '').replace(/^dockerignore$/, '.dockerignore'),
    );
    for (const database of DATABASES) {
      const project = renderProject({ database, bootVersion: '3' });
      for (const output of outputs) {
        const content = project.read(output);
        expect({ output, leftovers: content.match(/&#\d+;|&(lt|gt|amp|quot);|<%|%>/g) }).toEqual({
          output,
          leftovers: null,
        });
      }
    }
  });
});
