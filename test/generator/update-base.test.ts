import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../core/answers.js';
import { mergeThreeWay } from '../../core/merge.js';
import { GENERATOR_VERSION, planProject } from '../../core/project-files.js';
import {
  committedProject,
  FRONT_ENDS,
  runFrontEnd,
  templateVariant,
  tempDir,
  type FrontEnd,
} from '../support/cli.js';
import { publish, stagePackage, startRegistry, type Registry } from '../support/registry.js';

type Rc = Record<string, Record<string, unknown>>;
const rcPath = (project: string) => path.join(project, '.yo-rc.json');
const readRc = (project: string) => JSON.parse(readFileSync(rcPath(project), 'utf8')) as Rc;

const firstLine = (text: string, line: string) => text.replace(/^[^\n]*/, line);
const YOURS = '# a system package the team added\n';
const OLD = '0.0.1';
const LATEST = '0.0.2';
const OLD_FIRST_LINE = `# the first line as ${OLD} wrote it`;
const CLOSED = 'http://127.0.0.1:9/';

const ANSWERS = withDefaults({ taskName: 'orders-etl' });
const current = (file: string) =>
  planProject(ANSWERS).find((planned) => planned.path === file)?.content ?? '';

function changeDockerfile(firstLineText: string) {
  return (templates: string) => {
    const file = path.join(templates, 'managed', 'Dockerfile');
    writeFileSync(file, firstLine(readFileSync(file, 'utf8'), firstLineText));
  };
}

let registry: Registry | undefined;
let registryUrl = CLOSED;
let oldPackage: string;

beforeAll(async () => {
  registry = await startRegistry();
  registryUrl = registry.url;
  // Two published versions, each with its own Dockerfile, and the older one not the latest: an
  // update must render the version that made the project, not whatever is newest.
  oldPackage = stagePackage(OLD, changeDockerfile(OLD_FIRST_LINE));
  publish(registry, oldPackage);
  publish(
    registry,
    stagePackage(LATEST, changeDockerfile(`# the first line as ${LATEST} wrote it`)),
  );
}, 180_000);

afterAll(async () => {
  // Undefined when it failed to start: beforeAll has reported that already.
  await registry?.stop();
});

/** A project as the old published version's own bin wrote it, committed, your line appended. */
function oldProject(): string {
  const cwd = tempDir();
  const made = spawnSync(
    process.execPath,
    [path.join(oldPackage, 'lib/bin/create-scdf-task.js'), 'orders-etl', '--defaults'],
    { cwd, encoding: 'utf8' },
  );
  if (made.status !== 0)
    throw new Error(`${OLD} did not generate (${made.status}):\n${made.stdout}${made.stderr}`);
  const project = path.join(cwd, 'orders-etl');
  expect(readFileSync(path.join(project, 'Dockerfile'), 'utf8')).toMatch(
    new RegExp(`^${OLD_FIRST_LINE}\n`),
  );
  appendFileSync(path.join(project, 'Dockerfile'), YOURS);
  return project;
}

const update = (frontEnd: FrontEnd, project: string, env: NodeJS.ProcessEnv, args: string[] = []) =>
  runFrontEnd(frontEnd, args, project, { env: { npm_config_registry: registryUrl, ...env } });

describe.each(FRONT_ENDS)(
  '%s front end: the base rendered from the version that wrote the project',
  (frontEnd) => {
    test('fetched from the registry and cached: your edit and the template change merge', () => {
      const project = oldProject();
      const rc = readRc(project)['generator-scdf-task'] ?? {};
      expect(rc.generatorVersion).toBe(OLD);
      expect(JSON.stringify(rc)).not.toContain('"content"');
      const cache = tempDir('scdf-cache-');

      const check = update(frontEnd, project, { XDG_CACHE_HOME: cache }, ['--check']);
      expect(check.stderr).toBe('');
      expect(check.status).toBe(1);
      expect(check.stdout).toMatch(/^ {2}template changed, merges with your edits\s+Dockerfile$/m);

      const result = update(frontEnd, project, { XDG_CACHE_HOME: cache });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toContain(
        'merged (template changes merged into your edits): 1 (Dockerfile)',
      );
      expect(result.stdout).not.toContain('without the last generated text');
      expect(readFileSync(path.join(project, 'Dockerfile'), 'utf8')).toBe(
        `${current('Dockerfile')}${YOURS}`,
      );
      // Exactly the recorded version was fetched, and kept for the next time.
      expect(readdirSync(path.join(cache, 'generator-scdf-task'))).toEqual([OLD]);
      expect(
        readFileSync(
          path.join(cache, 'generator-scdf-task', OLD, 'package/templates/managed/Dockerfile'),
          'utf8',
        ),
      ).toMatch(new RegExp(`^${OLD_FIRST_LINE}\n`));

      // The cache serves a second project with the registry out of reach.
      const second = oldProject();
      const offline = update(frontEnd, second, {
        XDG_CACHE_HOME: cache,
        npm_config_registry: CLOSED,
      });
      expect(offline.status).toBe(0);
      expect(offline.stdout).toContain(
        'merged (template changes merged into your edits): 1 (Dockerfile)',
      );
      expect(readFileSync(path.join(second, 'Dockerfile'), 'utf8')).toBe(
        `${current('Dockerfile')}${YOURS}`,
      );
    });
  },
);

test('create-scdf-task --update over projects of the older version: fetched once, each merged', () => {
  const projects = [oldProject(), oldProject()];
  const cache = tempDir('scdf-cache-');
  const result = update('bin', tempDir(), { XDG_CACHE_HOME: cache }, ['--update', ...projects]);
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe(
    [
      ...projects.map((project) => `${project}: merged 1, updated 1`),
      '2 projects: 2 done, 0 with conflicts, 0 failed; exit 0',
      '',
    ].join('\n'),
  );
  expect(result.status).toBe(0);
  for (const project of projects)
    expect(readFileSync(path.join(project, 'Dockerfile'), 'utf8')).toBe(
      `${current('Dockerfile')}${YOURS}`,
    );
  expect(readdirSync(path.join(cache, 'generator-scdf-task'))).toEqual([OLD]);
});

describe('without the older version (offline): the hashes decide', () => {
  test.each(FRONT_ENDS)(
    '%s: a file both changed is merged against nothing, all conflicts; one only you changed is kept; one only the template changed is updated',
    async (frontEnd) => {
      const project = oldProject();
      appendFileSync(path.join(project, 'util/task_status.py'), '# local hack\n');
      const readme = readFileSync(path.join(project, 'README.md'), 'utf8');
      const yours = readFileSync(path.join(project, 'Dockerfile'), 'utf8');
      const env = { XDG_CACHE_HOME: tempDir('scdf-cache-'), npm_config_registry: CLOSED };

      const check = update(frontEnd, project, env, ['--check']);
      expect(check.stderr).toBe('');
      expect(check.status).toBe(3);
      expect(check.stdout).toMatch(/^ {2}would conflict\s+Dockerfile$/m);
      expect(check.stdout).toMatch(/^ {2}edited by you\s+util\/task_status\.py$/m);
      expect(check.stdout).toContain(
        `without the last generated text: the templates of generator-scdf-task ${OLD} could not ` +
          `be had: npm pack generator-scdf-task@${OLD} failed: FetchError: request to ` +
          `${CLOSED}generator-scdf-task failed, reason: connect ECONNREFUSED 127.0.0.1:9; a file ` +
          'both you and the templates changed is merged against nothing, so every difference in ' +
          'it is marked as a conflict\n',
      );

      const result = update(frontEnd, project, env);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(3);
      expect(result.stdout).toContain(
        'conflicts (resolve the markers, then commit): 1 (Dockerfile)',
      );
      expect(result.stdout).toContain('kept (edited by you): 1 (util/task_status.py)');
      // Merged against nothing: each difference between yours and the template is a conflict.
      const expected = await mergeThreeWay('', yours, current('Dockerfile'), {
        ours: 'yours',
        base: `generator-scdf-task ${OLD} (last generated)`,
        theirs: `generator-scdf-task ${GENERATOR_VERSION} (template)`,
      });
      expect(expected.conflict).toBe(true);
      expect(readFileSync(path.join(project, 'Dockerfile'), 'utf8')).toBe(expected.content);
      // The generated README names the version: unedited, it follows the templates.
      expect(readme).not.toBe(current('README.md'));
      expect(readFileSync(path.join(project, 'README.md'), 'utf8')).toBe(current('README.md'));
      expect(result.stdout).toMatch(/^updated: \d+ \(.*README\.md/m);
    },
  );
});

describe.each(FRONT_ENDS)('%s front end: without the registry', (frontEnd) => {
  test('on the version that wrote the project, the installed templates are the base: no network', () => {
    const project = committedProject('orders-etl');
    appendFileSync(path.join(project, 'Dockerfile'), YOURS);
    const cache = tempDir('scdf-cache-');
    const templates = templateVariant(changeDockerfile('# newer template: first line reworded'));
    const result = runFrontEnd(frontEnd, [], project, {
      env: { SCDF_TASK_TEMPLATES: templates, XDG_CACHE_HOME: cache, npm_config_registry: CLOSED },
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      'merged (template changes merged into your edits): 1 (Dockerfile)',
    );
    expect(existsSync(path.join(cache, 'generator-scdf-task'))).toBe(false);
  });

  test('a .yo-rc.json that holds the whole text of each file (earlier records) keeps working, and shrinks', () => {
    const project = committedProject('orders-etl');
    const rc = readRc(project);
    const state = rc['generator-scdf-task'] ?? {};
    // As earlier versions wrote it; a version no registry here has, so only the text can serve.
    state.generatorVersion = '0.0.9';
    state.lastGenerated = Object.fromEntries(
      planProject(ANSWERS).map((file) => [
        file.path,
        { owner: file.owner, executable: file.executable, content: file.content },
      ]),
    );
    writeFileSync(rcPath(project), `${JSON.stringify(rc, null, 2)}\n`);
    expect(readFileSync(rcPath(project), 'utf8').length).toBeGreaterThan(200_000);
    appendFileSync(path.join(project, 'Dockerfile'), YOURS);
    const templates = templateVariant(changeDockerfile('# newer template: first line reworded'));
    const result = runFrontEnd(frontEnd, [], project, {
      env: { SCDF_TASK_TEMPLATES: templates, npm_config_registry: CLOSED },
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      'merged (template changes merged into your edits): 1 (Dockerfile)',
    );
    expect(readFileSync(path.join(project, 'Dockerfile'), 'utf8')).toBe(
      `${firstLine(current('Dockerfile'), '# newer template: first line reworded')}${YOURS}`,
    );
    const text = readFileSync(rcPath(project), 'utf8');
    expect(text).not.toContain('"content"');
    expect(text.length).toBeLessThan(16_000);
    const written = readRc(project)['generator-scdf-task'] ?? {};
    expect(written.generatorVersion).toBe(GENERATOR_VERSION);
    expect((written.lastGenerated as Record<string, unknown>).Dockerfile).toEqual({
      owner: 'managed',
      sha256: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });
});
