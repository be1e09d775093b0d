import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { GENERATOR_VERSION } from '../../core/project-files.js';
import {
  changedPaths,
  committedProject,
  FRONT_ENDS,
  runFrontEnd,
  snapshotTree,
  templateVariant,
} from '../support/cli.js';
import { stagePackage } from '../support/registry.js';

const firstLine = (text: string, line: string) => text.replace(/^[^\n]*/, line);

type Edit = 'none' | 'first-line' | 'append' | 'delete';
type TemplateChange = 'none' | 'append' | 'first-line' | 'retire';

const YOURS = '# edited by you';
const THEIRS_FIRST = '# first line changed in the template';
const THEIRS_APPEND = '# appended in the template';

interface Case {
  readonly edit: Edit;
  readonly template: TemplateChange;
  /** `--check`'s exit code and its label for the file. */
  readonly check: [number, string];
  /** The update's exit code and its summary label. */
  readonly update: [number, string];
  /** The file after the update, from the original and your edited version; undefined: absent. */
  readonly result: (original: string, yours: string | undefined) => string | undefined;
  /** Whether the update leaves conflict markers. */
  readonly conflict?: boolean;
}

const CASES: readonly Case[] = [
  { edit: 'none', template: 'none', check: [0, ''], update: [0, 'unchanged'], result: (o) => o },
  {
    edit: 'none',
    template: 'append',
    check: [1, 'template changed'],
    update: [0, 'updated: 1'],
    result: (o) => `${o}${THEIRS_APPEND}\n`,
  },
  {
    edit: 'first-line',
    template: 'none',
    check: [0, 'edited by you'],
    update: [0, 'kept (edited by you): 1'],
    result: (_, y) => y,
  },
  {
    edit: 'first-line',
    template: 'append',
    check: [1, 'template changed, merges with your edits'],
    update: [0, 'merged (template changes merged into your edits): 1'],
    result: (_, y) => `${y ?? ''}${THEIRS_APPEND}\n`,
  },
  {
    edit: 'first-line',
    template: 'first-line',
    check: [3, 'would conflict'],
    update: [3, 'conflicts (resolve the markers, then commit): 1'],
    conflict: true,
    result: (o) =>
      [
        '<<<<<<< yours',
        YOURS,
        `||||||| generator-scdf-task ${GENERATOR_VERSION} (last generated)`,
        o.split('\n')[0],
        '=======',
        THEIRS_FIRST,
        `>>>>>>> generator-scdf-task ${GENERATOR_VERSION} (template)`,
        o.split('\n').slice(1).join('\n'),
      ].join('\n'),
  },
  {
    edit: 'none',
    template: 'retire',
    check: [1, 'no longer generated, would be removed'],
    update: [0, 'removed (no longer generated): 1'],
    result: () => undefined,
  },
  {
    edit: 'append',
    template: 'retire',
    // 1: the generated docs/files.md, which lists every file, changes.
    check: [1, 'no longer generated, edited by you: would be kept'],
    update: [0, 'kept, no longer generated (you edited them): 1'],
    result: (_, y) => y,
  },
];

/** What deleting the file does, by owner: a managed file comes back, yours stays deleted. */
const DELETE_CASES: readonly (Case & { owner: 'managed' | 'user' })[] = [
  {
    owner: 'managed',
    edit: 'delete',
    template: 'append',
    check: [1, 'deleted by you, would be restored (managed)'],
    update: [0, 'restored (you deleted them; the generator owns them): 1'],
    result: (o) => `${o}${THEIRS_APPEND}\n`,
  },
  {
    owner: 'user',
    edit: 'delete',
    template: 'append',
    check: [0, 'deleted by you, stays deleted (yours)'],
    update: [0, 'left deleted (yours): 1'],
    result: () => undefined,
  },
];

const FILES = { managed: 'util/task_status.py', user: 'requirements.txt' } as const;

function changeTemplates(owner: 'managed' | 'user', file: string, change: TemplateChange): string {
  return templateVariant((dir) => {
    const template = path.join(dir, owner, file);
    if (change === 'append') appendFileSync(template, `${THEIRS_APPEND}\n`);
    if (change === 'first-line')
      writeFileSync(template, firstLine(readFileSync(template, 'utf8'), THEIRS_FIRST));
    if (change === 'retire') rmSync(template);
  });
}

function editFile(full: string, edit: Edit): string | undefined {
  if (edit === 'delete') rmSync(full);
  if (edit === 'first-line') writeFileSync(full, firstLine(readFileSync(full, 'utf8'), YOURS));
  if (edit === 'append') appendFileSync(full, `${YOURS}\n`);
  return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
}

const TABLE = [
  ...(['managed', 'user'] as const).flatMap((owner) => CASES.map((row) => ({ ...row, owner }))),
  ...DELETE_CASES,
].flatMap((row) => FRONT_ENDS.map((frontEnd) => ({ ...row, frontEnd })));

describe('three-way update: your edit × template change × owner, in a git repository', () => {
  test.each(TABLE)(
    '$frontEnd: $owner file, you: $edit, template: $template',
    ({ frontEnd, owner, edit, template, check, update, result, conflict }) => {
      const file = FILES[owner];
      const project = committedProject('orders-etl');
      const full = path.join(project, file);
      const original = readFileSync(full, 'utf8');
      const yours = editFile(full, edit);
      const env = { SCDF_TASK_TEMPLATES: changeTemplates(owner, file, template) };
      const run = (args: string[]) => runFrontEnd(frontEnd, args, project, { env });

      const before = snapshotTree(project);
      const checked = run(['--check']);
      expect(checked.stderr).toBe('');
      expect(checked.status).toBe(check[0]);
      if (check[1])
        expect(checked.stdout).toMatch(
          new RegExp(`  ${check[1].replace(/[()]/g, '\\$&')}\\s+${file}\n`),
        );
      expect(snapshotTree(project)).toEqual(before);

      const updated = run([]);
      expect(updated.stderr).toBe('');
      expect(updated.status).toBe(update[0]);
      expect(updated.stdout).toContain(
        update[1] === 'unchanged' ? 'unchanged: ' : `${update[1]} (${file})`,
      );
      const expected = result(original, yours);
      expect(existsSync(full) ? readFileSync(full, 'utf8') : undefined).toBe(expected);

      // Exactly this file changed, with the record of what was generated and, when the list of
      // files changed, the generated docs/files.md that lists them (and the README, which names
      // the user files); nothing else.
      const fileChanged = expected !== original;
      const expectedStatus = [
        ...(fileChanged ? [`${expected === undefined ? ' D' : ' M'} ${file}`] : []),
        ...(template === 'none' ? [] : [' M .yo-rc.json']),
        ...(template === 'retire' ? [' M docs/files.md'] : []),
        ...(template === 'retire' && owner === 'user' ? [' M README.md'] : []),
      ].sort();
      expect(changedPaths(project)).toEqual(expectedStatus);
      const markers = spawnSync('git', ['diff', '--check'], { cwd: project, encoding: 'utf8' });
      if (conflict) {
        expect(markers.stdout).toContain(`${file}:1: leftover conflict marker`);
      } else {
        expect(markers.stdout).not.toContain('conflict marker');
      }
    },
  );
});

describe.each(FRONT_ENDS)('%s front end: the recorded version cannot be had', (frontEnd) => {
  // Not published anywhere (the tests' registry is a closed port): the base text is unknown.
  const UNPUBLISHED = '0.0.9';
  const TASK = 'python_task.py';
  const TEMPLATE_LAST = '# last line changed in the template';

  function unpublishedProject(): { project: string; original: string[]; env: NodeJS.ProcessEnv } {
    const project = committedProject('orders-etl');
    const rc = path.join(project, '.yo-rc.json');
    const store = JSON.parse(readFileSync(rc, 'utf8')) as Record<string, Record<string, unknown>>;
    (store['generator-scdf-task'] ?? {}).generatorVersion = UNPUBLISHED;
    writeFileSync(rc, `${JSON.stringify(store, null, 2)}\n`);
    const full = path.join(project, TASK);
    const original = readFileSync(full, 'utf8').split('\n');
    writeFileSync(full, [YOURS, ...original.slice(1)].join('\n'));
    const last = original.length - 2;
    const env = {
      SCDF_TASK_TEMPLATES: templateVariant((dir) => {
        const template = path.join(dir, 'user', TASK);
        const lines = readFileSync(template, 'utf8').split('\n');
        lines[last] = TEMPLATE_LAST;
        writeFileSync(template, lines.join('\n'));
      }),
    };
    return { project, original, env };
  }

  test(`a one-line edit on each side of ${TASK}: two conflicts of one line each, not the whole file`, () => {
    const { project, original, env } = unpublishedProject();
    const result = runFrontEnd(frontEnd, [], project, { env });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`conflicts (resolve the markers, then commit): 1 (${TASK})`);
    expect(result.stdout).toContain('is compared two ways');
    expect(result.stdout).toContain(`pass --base with generator-scdf-task ${UNPUBLISHED}`);
    expect(result.status).toBe(3);
    const theirs = `>>>>>>> generator-scdf-task ${GENERATOR_VERSION} (template)`;
    const last = original.length - 2;
    const merged = readFileSync(path.join(project, TASK), 'utf8');
    expect(merged).toBe(
      [
        ...['<<<<<<< yours', YOURS, '=======', original[0] ?? '', theirs],
        ...original.slice(1, last),
        ...['<<<<<<< yours', original[last] ?? '', '=======', TEMPLATE_LAST, theirs],
        '',
      ].join('\n'),
    );
    // Four marker lines per conflict: 8 lines more, where merging against nothing added 71.
    expect(merged.split('\n').length - original.length).toBe(8);
    // The markers are recorded: the next update refuses to run over them.
    const again = runFrontEnd(frontEnd, [], project, { env });
    expect(again.stdout).toContain(
      `nothing written: the conflict markers of the last update are still in ${TASK}`,
    );
    expect(again.status).toBe(3);
  });

  test("--base with that version's package folder merges the two edits without conflict", () => {
    const { project, original, env } = unpublishedProject();
    const base = stagePackage(UNPUBLISHED, () => undefined);
    const result = runFrontEnd(frontEnd, ['--base', base], project, { env });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(
      `merged (template changes merged into your edits): 1 (${TASK})`,
    );
    expect(result.stdout).not.toContain('without the last generated text');
    expect(result.status).toBe(0);
    const last = original.length - 2;
    expect(readFileSync(path.join(project, TASK), 'utf8')).toBe(
      [YOURS, ...original.slice(1, last), TEMPLATE_LAST, ''].join('\n'),
    );
  });
});

describe.each(FRONT_ENDS)('%s front end: files that appear, move or change owner', (frontEnd) => {
  test('a file new in the templates is created; one where a file of yours exists is merged, not lost', () => {
    const project = committedProject('orders-etl');
    writeFileSync(path.join(project, 'util', 'clash.py'), 'MINE = 1\n');
    const env = {
      SCDF_TASK_TEMPLATES: templateVariant((dir) => {
        writeFileSync(path.join(dir, 'managed', 'util', 'new_helper.py'), 'HELPER = 1\n');
        writeFileSync(path.join(dir, 'managed', 'util', 'clash.py'), 'THEIRS = 1\n');
      }),
    };
    const result = runFrontEnd(frontEnd, [], project, { env });
    expect(result.status).toBe(3);
    expect(result.stdout).toContain('created: 1 (util/new_helper.py)');
    expect(result.stdout).toContain(
      'conflicts (resolve the markers, then commit): 1 (util/clash.py)',
    );
    expect(readFileSync(path.join(project, 'util', 'new_helper.py'), 'utf8')).toBe('HELPER = 1\n');
    const clash = readFileSync(path.join(project, 'util', 'clash.py'), 'utf8');
    expect(clash).toContain('MINE = 1');
    expect(clash).toContain('THEIRS = 1');
    expect(clash).toContain('<<<<<<< yours');
  });

  test('an owner change is reported; the unedited file is left as it is', () => {
    const project = committedProject('orders-etl');
    const env = {
      SCDF_TASK_TEMPLATES: templateVariant((dir) => {
        renameSync(
          path.join(dir, 'user', 'pyproject.toml'),
          path.join(dir, 'managed', 'pyproject.toml'),
        );
      }),
    };
    const check = runFrontEnd(frontEnd, ['--check'], project, { env });
    expect(check.stdout).toContain('owner changed: pyproject.toml (yours -> generator)');
    const result = runFrontEnd(frontEnd, [], project, { env });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('owner changed: pyproject.toml (yours -> generator)');
    expect(changedPaths(project)).toEqual([' M .yo-rc.json', ' M README.md', ' M docs/files.md']);
    // Now managed: deleting it brings it back.
    rmSync(path.join(project, 'pyproject.toml'));
    expect(runFrontEnd(frontEnd, [], project, { env }).stdout).toContain(
      'restored (you deleted them; the generator owns them): 1 (pyproject.toml)',
    );
  });
});

/** Paths into the project that must never be followed, and what they point at. */
describe.each(FRONT_ENDS)('%s front end: never outside the project', (frontEnd) => {
  const run = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
    runFrontEnd(frontEnd, args, cwd, { env });

  test('a managed file linked to /proc/self/environ: refused by --check and update; no secret printed', () => {
    const project = committedProject('orders-etl');
    rmSync(path.join(project, 'Dockerfile'));
    spawnSync('ln', ['-s', '/proc/self/environ', path.join(project, 'Dockerfile')]);
    const before = snapshotTree(path.join(project, 'util'));
    const secret = 'S3CRET-in-the-CI-environment';
    for (const args of [['--check'], [], ['--database', 'mysql']]) {
      const result = run(args, project, { CI_DEPLOY_TOKEN: secret });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(
        'symbolic links, which are never followed: Dockerfile -> /proc/self/environ',
      );
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
    expect(snapshotTree(path.join(project, 'util'))).toEqual(before);
    expect(changedPaths(project)).toEqual([' T Dockerfile']);
  });

  test('a managed file or folder linked outside: refused, the outside untouched', () => {
    const project = committedProject('orders-etl');
    const outside = path.join(path.dirname(project), 'outside');
    mkdirSync(path.join(outside, 'util'), { recursive: true });
    writeFileSync(path.join(outside, 'Dockerfile'), 'outside file\n');
    writeFileSync(path.join(outside, 'util', 'task_status.py'), 'outside folder\n');
    for (const name of ['Dockerfile', 'util']) {
      rmSync(path.join(project, name), { recursive: true });
      spawnSync('ln', ['-s', path.join(outside, name), path.join(project, name)]);
    }
    const before = snapshotTree(outside);
    const result = run(['--database', 'mysql'], project);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`Dockerfile -> ${path.join(outside, 'Dockerfile')}`);
    expect(result.stderr).toContain(`util -> ${path.join(outside, 'util')}`);
    expect(result.stderr).toContain('nothing was written');
    expect(snapshotTree(outside)).toEqual(before);
    expect(changedPaths(project).filter((line) => !/ (Dockerfile|util\/.*)$/.test(line))).toEqual([
      '?? util',
    ]);
  });

  test.each([
    ['managedFiles', '../victim.txt'],
    ['lastGenerated', '../victim.txt'],
    ['lastGenerated', 'ABSOLUTE'],
  ])('a %s path %s from .yo-rc.json is refused; the file there stays', (key, entry) => {
    const project = committedProject('orders-etl');
    const victim = path.join(path.dirname(project), 'victim.txt');
    writeFileSync(victim, 'victim\n');
    const relPath = entry === 'ABSOLUTE' ? victim : entry;
    const rcPath = path.join(project, '.yo-rc.json');
    const rc = JSON.parse(readFileSync(rcPath, 'utf8')) as Record<string, Record<string, unknown>>;
    const state = rc['generator-scdf-task'] ?? {};
    if (key === 'managedFiles') {
      delete state.lastGenerated;
      state.managedFiles = {
        [relPath]: '9a0364b9e99bb480dd25e1f0284c8555f0ec6f1d9ae0ad5f58e2f7f8fc4b1a4b',
      };
    } else {
      (state.lastGenerated as Record<string, unknown>)[relPath] = {
        owner: 'managed',
        executable: false,
        content: 'victim\n',
      };
    }
    writeFileSync(rcPath, JSON.stringify(rc));
    for (const args of [['--check'], []]) {
      const result = run(args, project);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(`.yo-rc.json: path ${JSON.stringify(relPath)} is`);
      expect(result.stdout).not.toContain('victim');
    }
    expect(readFileSync(victim, 'utf8')).toBe('victim\n');
    expect(changedPaths(project)).toEqual([' M .yo-rc.json']);
  });

  test('a .yo-rc.json that is a link, and a new project folder that is a link, are refused', () => {
    const project = committedProject('orders-etl');
    const elsewhere = path.join(path.dirname(project), 'elsewhere.json');
    renameSync(path.join(project, '.yo-rc.json'), elsewhere);
    spawnSync('ln', ['-s', elsewhere, path.join(project, '.yo-rc.json')]);
    const linked = run([], project);
    expect(linked.status).toBe(2);
    expect(linked.stderr).toContain('.yo-rc.json is a symbolic link; refusing to follow it');

    const cwd = path.dirname(project);
    mkdirSync(path.join(cwd, 'target'));
    spawnSync('ln', ['-s', path.join(cwd, 'target'), path.join(cwd, 'new-task')]);
    const fresh = run(['new-task', '--defaults'], cwd);
    expect(fresh.status).toBe(2);
    expect(fresh.stderr).toContain(
      `${path.join(cwd, 'new-task')} is a symbolic link; refusing to generate through it`,
    );
    expect(snapshotTree(path.join(cwd, 'target'))).toEqual({});
  });
});

describe.each(FRONT_ENDS)('%s front end: all or nothing', (frontEnd) => {
  test('a write that fails half-way puts back every file already moved, and names file and cause', () => {
    // --ci none: scripts/scdf-rest.sh is then the one file under scripts/.
    const project = committedProject('orders-etl', ['--database', 'postgresql', '--ci', 'none']);
    // A file where the generator needs a folder: every file before scripts/ is moved into place
    // first, then the move into scripts/ fails.
    rmSync(path.join(project, 'scripts'), { recursive: true });
    writeFileSync(path.join(project, 'scripts'), 'a file of yours\n');
    const before = snapshotTree(project);
    const result = runFrontEnd(frontEnd, ['--database', 'mysql'], project);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /could not write scripts\/scdf-rest\.sh: ENOTDIR: .*; the project was left exactly as it was\n$/,
    );
    expect(result.stderr).not.toContain('    at ');
    expect(snapshotTree(project)).toEqual(before);
    expect(readFileSync(path.join(project, '.yo-rc.json'), 'utf8')).toContain(
      '"database": "postgresql"',
    );
  });
});
