import { describe, expect, test } from '@jest/globals';
import { InputError } from '../../core/errors.js';
import { recordedHash, sha256 } from '../../core/hash.js';
import { withDefaults } from '../../core/answers.js';
import {
  isObject,
  parseStoreFile,
  projectState,
  renderStoreFile,
  STORE_FILE,
  STORE_KEY,
} from '../../core/project-state.js';

const HASH = sha256('text');

function refused(store: Record<string, unknown>, message: string): void {
  expect(() => projectState(store)).toThrow(InputError);
  expect(() => projectState(store)).toThrow(message);
}

describe('parseStoreFile', () => {
  test('an object is returned as parsed', () => {
    expect(parseStoreFile('{"a": {"b": 1}}', 'x/.yo-rc.json')).toEqual({ a: { b: 1 } });
  });

  test.each([
    ['{', 'x/.yo-rc.json is not valid JSON: '],
    ['[1]', 'x/.yo-rc.json must hold a JSON object'],
    ['null', 'x/.yo-rc.json must hold a JSON object'],
    ['"s"', 'x/.yo-rc.json must hold a JSON object'],
  ])('%s is refused, naming the file', (text, message) => {
    expect(() => parseStoreFile(text, 'x/.yo-rc.json')).toThrow(InputError);
    expect(() => parseStoreFile(text, 'x/.yo-rc.json')).toThrow(message);
  });
});

describe('isObject', () => {
  test('only plain objects', () => {
    expect(isObject({})).toBe(true);
    expect(isObject([])).toBe(false);
    expect(isObject(null)).toBe(false);
    expect(isObject('x')).toBe(false);
  });
});

describe('projectState', () => {
  test('no section of this generator: undefined', () => {
    expect(projectState({ 'generator-other': {} })).toBeUndefined();
  });

  test('answers, version, files and unknown keys are told apart', () => {
    const state = projectState({
      other: { kept: true },
      [STORE_KEY]: {
        taskName: 'job',
        database: 'postgresql',
        generatorVersion: '0.2.0',
        managedFiles: { 'a.py': HASH },
        lastGenerated: {
          'a.py': { owner: 'managed', sha256: HASH },
          'b.py': { owner: 'user', sha256: HASH, conflict: true },
          'c.py': { owner: 'user', sha256: HASH, conflict: false },
        },
        futureKey: [1],
      },
    });
    expect(state).toEqual({
      answers: { taskName: 'job', database: 'postgresql' },
      generatorVersion: '0.2.0',
      lastGenerated: {
        'a.py': { owner: 'managed', sha256: HASH },
        'b.py': { owner: 'user', sha256: HASH, conflict: true },
        'c.py': { owner: 'user', sha256: HASH },
      },
      managedFiles: { 'a.py': HASH },
      unknown: { futureKey: [1] },
    });
  });

  test('an empty section: no version, no record of files', () => {
    const state = projectState({ [STORE_KEY]: {} });
    expect(state).toEqual({ answers: {}, managedFiles: {}, unknown: {} });
    expect(state).not.toHaveProperty('generatorVersion');
    expect(state).not.toHaveProperty('lastGenerated');
  });

  test("earlier versions' records of whole texts are read as their hash and text", () => {
    const state = projectState({
      [STORE_KEY]: {
        lastGenerated: { 'a.py': { owner: 'user', content: 'text', executable: false } },
      },
    });
    expect(state?.lastGenerated).toEqual({
      'a.py': { owner: 'user', sha256: HASH, content: 'text' },
    });
  });

  test.each([
    [[], `${STORE_FILE}: "${STORE_KEY}" must be an object`],
    ['x', `${STORE_FILE}: "${STORE_KEY}" must be an object`],
  ])('a section that is %j is refused', (section, message) => {
    refused({ [STORE_KEY]: section }, message);
  });

  test.each([['1.0'], ['latest'], [1]])('generatorVersion %j is refused', (version) => {
    refused(
      { [STORE_KEY]: { generatorVersion: version } },
      `"generatorVersion" ${JSON.stringify(version)} is not a semantic version (such as 0.1.0)`,
    );
  });

  test.each([[[]], ['x'], [{ 'a.py': 1 }]])('managedFiles %j is refused', (files) => {
    refused(
      { [STORE_KEY]: { managedFiles: files } },
      '.yo-rc.json: "managedFiles" must map paths to sha256 strings',
    );
  });

  test.each([[[]], ['x'], [null]])('lastGenerated %j is refused', (files) => {
    refused(
      { [STORE_KEY]: { lastGenerated: files } },
      `${STORE_FILE}: "lastGenerated" must map paths to files`,
    );
  });

  test.each([
    ['no owner', { sha256: HASH }],
    ['unknown owner', { owner: 'root', sha256: HASH }],
    ['short hash', { owner: 'user', sha256: HASH.slice(1) }],
    ['upper-case hash', { owner: 'user', sha256: HASH.toUpperCase() }],
    ['hash with a suffix', { owner: 'user', sha256: `${HASH}0` }],
    ['hash with a prefix', { owner: 'user', sha256: `0${HASH}` }],
    ['non-string hash', { owner: 'user', sha256: 1 }],
    // An array of one hash reads as that hash to a RegExp: the type is checked first.
    ['hash in an array', { owner: 'user', sha256: [HASH] }],
    ['conflict not a boolean', { owner: 'user', sha256: HASH, conflict: 'yes' }],
    ['text without executable', { owner: 'user', content: 'text' }],
    ['text not a string', { owner: 'user', content: 1, executable: false }],
    ['not an object', 'x'],
  ])('a lastGenerated entry with %s is refused, naming its path', (_, entry) => {
    refused(
      { [STORE_KEY]: { lastGenerated: { 'a "b".py': entry } } },
      `${STORE_FILE}: "lastGenerated" entry "a \\"b\\".py" must be { "owner": "managed" | "user", "sha256": "<16 or 64 hex digits>" }`,
    );
  });
});

describe('renderStoreFile', () => {
  const answers = withDefaults({ taskName: 'job' });
  const plan = [
    { path: 'b.py', owner: 'user' as const, content: 'b', executable: false },
    { path: 'a.sh', owner: 'managed' as const, content: 'a', executable: true },
  ];

  test('answers in input order, version, unknown keys, then what was written; others kept', () => {
    const text = renderStoreFile(
      { other: { x: 1 }, [STORE_KEY]: { stale: true, managedFiles: {} } },
      { futureKey: 2 },
      answers,
      '0.3.0',
      plan,
      new Set(['a.sh']),
    );
    expect(text.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(text) as Record<string, Record<string, unknown>>;
    // The section's name is what Yeoman and every earlier version read: never renamed.
    expect(Object.keys(parsed)).toEqual(['other', 'generator-scdf-task']);
    expect(parsed.other).toEqual({ x: 1 });
    const section = parsed[STORE_KEY] ?? {};
    expect(Object.keys(section)).toEqual([
      'taskName',
      'database',
      'dockerPrefix',
      'imageTag',
      'pythonVersion',
      'bootVersion',
      'ci',
      'generatorVersion',
      'futureKey',
      'lastGenerated',
    ]);
    expect(section.taskName).toBe('job');
    expect(section.generatorVersion).toBe('0.3.0');
    expect(section.lastGenerated).toEqual({
      'b.py': { owner: 'user', sha256: recordedHash('b') },
      'a.sh': { owner: 'managed', sha256: recordedHash('a'), conflict: true },
    });
    expect(text).toContain('\n  "other": {\n    "x": 1\n  },\n');
    // One line a file: the record of a default project stays under 8 KB.
    expect(text).toContain(
      `\n      "b.py": { "owner": "user", "sha256": "${recordedHash('b')}" },\n` +
        `      "a.sh": { "owner": "managed", "sha256": "${recordedHash('a')}", "conflict": true }\n    }\n`,
    );
  });

  test('what it writes reads back as the same state', () => {
    const text = renderStoreFile({}, {}, answers, '0.3.0', plan);
    const state = projectState(parseStoreFile(text, 'x'));
    expect(state?.generatorVersion).toBe('0.3.0');
    expect(state?.answers).toEqual(answers);
    expect(state?.lastGenerated).toEqual({
      'b.py': { owner: 'user', sha256: recordedHash('b') },
      'a.sh': { owner: 'managed', sha256: recordedHash('a') },
    });
  });
});
