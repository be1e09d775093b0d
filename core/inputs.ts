import {
  BOOT_VERSIONS,
  CI_SYSTEMS,
  DATABASES,
  PYTHON_VERSIONS,
  validateBootVersion,
  validateCi,
  validateDatabase,
  validateDockerPrefix,
  validateImageTag,
  validatePythonVersion,
  validateTaskName,
  type BootVersion,
  type CiSystem,
  type Database,
  type PythonVersion,
  type ValidationResult,
} from './validators.js';

/** The answers a project is generated from; stored under this generator's key in `.yo-rc.json`. */
export interface Answers {
  taskName: string;
  database: Database;
  dockerPrefix: string;
  imageTag: string;
  pythonVersion: PythonVersion;
  bootVersion: BootVersion;
  ci: CiSystem;
}

export type AnswerKey = keyof Answers;

/**
 * One declaration per input: its CLI option, prompt, default and validator live here and nowhere
 * else. The generator, the `create-scdf-task` bin and `--help` are all built from this list.
 */
export interface InputDeclaration<K extends AnswerKey = AnswerKey> {
  readonly key: K;
  /** Kebab-case CLI option name, as both `yo` and the bin accept it. */
  readonly option: string;
  readonly description: string;
  readonly message: string;
  readonly default: Answers[K];
  readonly choices?: readonly Answers[K][];
  readonly validate: (value: string) => ValidationResult;
  /** Also accepted as the first positional argument. */
  readonly positional?: boolean;
  /**
   * What a project that records no value for this input takes (one made before the input
   * existed), instead of asking: an update then keeps its files as they were.
   */
  readonly unrecorded?: Answers[K];
}

function declare<K extends AnswerKey>(input: InputDeclaration<K>): InputDeclaration<K> {
  return input;
}

export const INPUTS = [
  declare({
    key: 'taskName',
    option: 'task-name',
    description: 'Task name: SCDF task definition, app name and image name',
    message: 'Task name',
    default: 'python-task',
    validate: validateTaskName,
    positional: true,
  }),
  declare({
    key: 'database',
    option: 'database',
    description: 'Database SCDF runs on; picks the Python driver',
    message: 'Database SCDF runs on',
    default: 'mariadb',
    choices: DATABASES,
    validate: validateDatabase,
  }),
  declare({
    key: 'dockerPrefix',
    option: 'docker-prefix',
    description: 'Registry and/or namespace the image is pushed under',
    message: 'Docker prefix (registry and/or namespace)',
    default: 'localhost:5000',
    validate: validateDockerPrefix,
  }),
  declare({
    key: 'imageTag',
    option: 'image-tag',
    description: 'Tag of the image SCDF registers',
    message: 'Image tag',
    default: '0.1.0',
    validate: validateImageTag,
  }),
  declare({
    key: 'pythonVersion',
    option: 'python-version',
    description: 'Python version of the image',
    message: 'Python version of the image',
    default: '3.14',
    choices: PYTHON_VERSIONS,
    validate: validatePythonVersion,
  }),
  declare({
    key: 'bootVersion',
    option: 'boot-version',
    description:
      'Boot version to register with: 3 uses SCDF 2.11 BOOT3_TASK_ tables (--bootVersion 3)',
    message: 'Register as Boot version (3 only on SCDF 2.11)',
    default: '2',
    choices: BOOT_VERSIONS,
    validate: validateBootVersion,
  }),
  declare({
    key: 'ci',
    option: 'ci',
    description:
      'CI system to write the pipelines for (test, lint, image, release, template updates); none: no pipeline',
    message: 'CI system for the pipelines',
    default: 'github',
    choices: CI_SYSTEMS,
    validate: validateCi,
    unrecorded: 'none',
  }),
] as const satisfies readonly InputDeclaration[];

/** Flags that steer a run rather than describe the project. */
export interface RunFlag {
  readonly option: string;
  readonly description: string;
  /** Set for a flag that takes a value: what the value is, for --help. */
  readonly value?: string;
}

export const RUN_FLAGS: readonly RunFlag[] = [
  { option: 'defaults', description: 'Ask nothing: every input not given takes its default' },
  {
    option: 'check',
    description:
      'Write nothing; report each file (up to date, template changed, edited by you, would ' +
      'conflict) with diffs; exit 1 if an update would change files, 3 if it would conflict',
  },
  {
    option: 'force',
    description:
      'Write into a non-empty folder, replace your edits with the templates, and go back from a newer generator version',
  },
  { option: 'debug', description: 'Show stack traces of unexpected errors' },
  {
    option: 'update',
    description: 'Update the projects in the folders given as arguments (default: this one)',
  },
  {
    option: 'base',
    value: 'path',
    description:
      'With an update or --check: the packed tarball or package folder of the generator version ' +
      'that generated the project, when npm cannot fetch it (unpublished, offline)',
  },
  {
    option: 'stdin',
    description:
      'With --check or --update: also read project folders, one per line, from stdin (or give "-")',
  },
];
