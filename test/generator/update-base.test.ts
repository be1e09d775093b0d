import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withDefaults } from '../../core/answers.js';
import { GENERATOR_VERSION, planProject } from '../../core/project-files.js';
import {
  committedProject,
  FRONT_ENDS,
  runFrontEnd,
  snapshotTree,
  templateVariant,
  tempDir,
  type FrontEnd,
} from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';
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

const ANSWERS = withDefaults({ taskName: 'orders-etl', ci: 'none' });
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
    // --ci none: no pipeline file names the version, so only README.md follows it.
    [
      path.join(oldPackage, 'lib/bin/create-scdf-task.js'),
      'orders-etl',
      '--defaults',
      '--ci',
      'none',
    ],
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
      // updated: the README and docs/template-updates.md, which name the generator version.
      ...projects.map((project) => `${project}: merged 1, updated 2`),
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
    '%s: a file both changed is compared two ways, only differing lines marked; one only you changed is kept; one only the template changed is updated',
    (frontEnd) => {
      const project = oldProject();
      appendFileSync(path.join(project, 'util/task_status.py'), '# local hack\n');
      const readme = readFileSync(path.join(project, 'README.md'), 'utf8');
      const env = { XDG_CACHE_HOME: tempDir('scdf-cache-'), npm_config_registry: CLOSED };

      const check = update(frontEnd, project, env, ['--check']);
      expect(check.stderr).toBe('');
      expect(check.status).toBe(3);
      expect(check.stdout).toMatch(/^ {2}would conflict\s+Dockerfile$/m);
      expect(check.stdout).toMatch(/^ {2}edited by you\s+util\/task_status\.py$/m);
      expect(check.stdout).toContain(
        `without the last generated text: the templates of generator-scdf-task ${OLD} could not ` +
          `be had: npm pack generator-scdf-task@${OLD} failed: FetchError: request to ` +
          `${CLOSED}generator-scdf-task failed, reason: connect ECONNREFUSED 127.0.0.1:9; npm's ` +
          `cache does not hold it either; no generator-scdf-task-${OLD}.tgz in ${project} or ` +
          `${path.dirname(project)}. A file both you and the templates changed is compared two ` +
          "ways: lines both hold are kept, and every place where yours and the template's " +
          'differ is marked as a conflict, since nobody can tell whose edit it is. To merge ' +
          `three ways, pass --base with generator-scdf-task ${OLD} (its packed tarball or ` +
          `package folder), or put generator-scdf-task-${OLD}.tgz in the project or beside it\n`,
      );

      const result = update(frontEnd, project, env);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(3);
      expect(result.stdout).toContain(
        'conflicts (resolve the markers, then commit): 1 (Dockerfile)',
      );
      expect(result.stdout).toContain('kept (edited by you): 1 (util/task_status.py)');
      // Only the places where yours and the template's differ are marked: the first line, the
      // version label and your appended line; every other line of the Dockerfile is there once.
      const template = current('Dockerfile').split('\n');
      const label = (version: string) => `      scdf-task.generator-version="${version}"`;
      const at = template.indexOf(label(GENERATOR_VERSION));
      expect(at).toBeGreaterThan(0);
      const conflict = (yoursLines: string[], theirs: string[]) => [
        '<<<<<<< yours',
        ...yoursLines,
        '=======',
        ...theirs,
        `>>>>>>> generator-scdf-task ${GENERATOR_VERSION} (template)`,
      ];
      expect(readFileSync(path.join(project, 'Dockerfile'), 'utf8')).toBe(
        [
          ...conflict([OLD_FIRST_LINE], [template[0] ?? '']),
          ...template.slice(1, at),
          ...conflict([label(OLD)], [label(GENERATOR_VERSION)]),
          ...template.slice(at + 1, -1),
          ...conflict([YOURS.trimEnd()], []),
          '',
        ].join('\n'),
      );
      // The generated README names the version: unedited, it follows the templates.
      expect(readme).not.toBe(current('README.md'));
      expect(readFileSync(path.join(project, 'README.md'), 'utf8')).toBe(current('README.md'));
      expect(result.stdout).toMatch(/^updated: \d+ \(.*README\.md/m);
    },
  );
});

/** The old version packed as npm packs it (`generator-scdf-task-<version>.tgz`) into `dir`. */
function packOld(dir: string): string {
  const packed = spawnSync(
    'npm',
    ['pack', oldPackage, '--ignore-scripts', '--pack-destination', dir],
    {
      encoding: 'utf8',
      env: { ...process.env, npm_config_cache: path.join(tempDir('scdf-npm-cache-'), 'npm') },
    },
  );
  if (packed.status !== 0)
    throw new Error(`npm pack failed (${packed.status}):\n${packed.stdout}${packed.stderr}`);
  const tarball = path.join(dir, `generator-scdf-task-${OLD}.tgz`);
  expect(existsSync(tarball)).toBe(true);
  return tarball;
}

const MERGED = 'merged (template changes merged into your edits): 1 (Dockerfile)';

describe('the base supplied without the registry (the version unpublished, or offline)', () => {
  const offline = () => ({ XDG_CACHE_HOME: tempDir('scdf-cache-'), npm_config_registry: CLOSED });

  test.each(FRONT_ENDS)(
    '%s: --base <tarball> merges three ways, and caches nothing',
    (frontEnd) => {
      const project = oldProject();
      const tarball = packOld(tempDir('scdf-packed-'));
      const env = offline();
      const result = update(frontEnd, project, env, ['--base', tarball]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain(MERGED);
      expect(result.stdout).not.toContain('without the last generated text');
      expect(result.status).toBe(0);
      expect(readFileSync(path.join(project, 'Dockerfile'), 'utf8')).toBe(
        `${current('Dockerfile')}${YOURS}`,
      );
      expect(existsSync(path.join(env.XDG_CACHE_HOME, 'generator-scdf-task'))).toBe(false);
    },
  );

  test('--base <package folder>, relative to where the command runs, also for --check', () => {
    const project = oldProject();
    const relative = path.relative(project, oldPackage);
    const check = update('bin', project, offline(), ['--check', `--base=${relative}`]);
    expect(check.stderr).toBe('');
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/^ {2}template changed, merges with your edits\s+Dockerfile$/m);
    const result = update('bin', project, offline(), ['--base', relative]);
    expect(result.stdout).toContain(MERGED);
    expect(result.status).toBe(0);
  });

  test('generator-scdf-task-<version>.tgz beside the project is found without --base', () => {
    const project = oldProject();
    packOld(path.dirname(project));
    const env = offline();
    const result = update('bin', project, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(MERGED);
    expect(result.status).toBe(0);
    expect(existsSync(path.join(env.XDG_CACHE_HOME, 'generator-scdf-task'))).toBe(false);
  });

  test("npm's own cache serves when the registry is down (npm cache add, earlier)", async () => {
    // A registry of its own, stopped before the update: npm's cache is keyed by the registry's
    // address, so the one that goes down must be the one the tarball came from.
    const gone = await startRegistry();
    const npmCache = path.join(tempDir('scdf-npm-cache-'), 'npm');
    try {
      publish(gone, oldPackage);
      const added = spawnSync('npm', ['cache', 'add', `generator-scdf-task@${OLD}`], {
        encoding: 'utf8',
        env: { ...process.env, npm_config_cache: npmCache, npm_config_registry: gone.url },
      });
      if (added.status !== 0)
        throw new Error(`npm cache add failed (${added.status}):\n${added.stdout}${added.stderr}`);
    } finally {
      await gone.stop();
    }
    const project = oldProject();
    const env = { ...offline(), npm_config_cache: npmCache, npm_config_registry: gone.url };
    const result = update('bin', project, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(MERGED);
    expect(result.status).toBe(0);
    // Kept in the generator's cache like any version npm served.
    expect(readdirSync(path.join(env.XDG_CACHE_HOME, 'generator-scdf-task'))).toEqual([OLD]);
  }, 120_000);

  test.each(FRONT_ENDS)(
    '%s: a --base that is missing, not this package, of another version or without a value: exit 2, nothing written',
    (frontEnd) => {
      const project = oldProject();
      const before = snapshotTree(project);
      const rule =
        'give the packed tarball (generator-scdf-task-<version>.tgz, as npm pack makes it) or ' +
        'the package folder (its package.json and templates/) of the version that generated ' +
        'the project';
      const cases: [string[], string][] = [
        [['--base', 'nowhere.tgz'], `--base: nowhere.tgz does not exist; ${rule}`],
        [['--base', 'Dockerfile'], '--base: Dockerfile is not a tarball ('],
        [['--base', 'util'], `--base: util holds no generator-scdf-task package.json; ${rule}`],
        [
          ['--base', REPO_ROOT],
          `--base: ${REPO_ROOT} holds generator-scdf-task ${GENERATOR_VERSION}, but ${project} ` +
            `was generated by ${OLD}; give that version, or leave --base out`,
        ],
        [['--base'], '--base needs a value'],
      ];
      for (const [args, message] of cases) {
        const result = update(frontEnd, project, offline(), args);
        expect({ args, stdout: result.stdout, status: result.status }).toEqual({
          args,
          stdout: '',
          status: 2,
        });
        expect(result.stderr).toContain(message);
        expect(result.stderr).not.toContain('    at ');
      }
      expect(snapshotTree(project)).toEqual(before);

      // A new project has no base to supply.
      const cwd = tempDir();
      const created = update(frontEnd, cwd, offline(), [
        'orders-etl',
        '--defaults',
        '--base',
        oldPackage,
      ]);
      expect(created.stderr).toContain(
        `--base supplies the templates an existing project was generated with, but ${cwd} holds ` +
          'no .yo-rc.json made by this generator',
      );
      expect(created.status).toBe(2);
      expect(snapshotTree(cwd)).toEqual({});
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
