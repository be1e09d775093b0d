/**
 * Pure validators, one per input. Each returns `true` or a message that states the rule, so the
 * same function serves inquirer's `validate`, CLI options and values stored in `.yo-rc.json`.
 */
export type ValidationResult = true | string;

/** The databases SCDF runs on (its embedded H2 has no Python driver). */
export const DATABASES = ['mysql', 'mariadb', 'postgresql', 'sqlserver', 'oracle', 'db2'] as const;
export type Database = (typeof DATABASES)[number];

/**
 * Python versions with wheels for every driver the generated project can pin (ibm_db has no
 * 3.15 wheel yet, and 3.10 is past its end of life).
 */
export const PYTHON_VERSIONS = ['3.11', '3.12', '3.13', '3.14'] as const;
export type PythonVersion = (typeof PYTHON_VERSIONS)[number];

/** `2` registers a plain task app; `3` registers with `--bootVersion 3` (SCDF 2.11). */
export const BOOT_VERSIONS = ['2', '3'] as const;
export type BootVersion = (typeof BOOT_VERSIONS)[number];

/** The CI systems a pipeline is generated for; `none` writes no pipeline. */
export const CI_SYSTEMS = ['github', 'gitlab', 'none'] as const;
export type CiSystem = (typeof CI_SYSTEMS)[number];

const TASK_NAME_MAX = 63;
// One DNS-1123 label: what Kubernetes needs for the pod name SCDF derives from the task name, and
// a valid single path component of a Docker repository.
const TASK_NAME = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

export function validateTaskName(value: string): ValidationResult {
  const rule =
    'use lower-case letters, digits and "-", start with a letter, end with a letter or digit, ' +
    `at most ${TASK_NAME_MAX} characters`;
  if (value.length === 0) return `must not be empty; ${rule}`;
  if (value.length > TASK_NAME_MAX) return `is ${value.length} characters long; ${rule}`;
  if (!TASK_NAME.test(value)) return rule;
  return true;
}

function oneOf(allowed: readonly string[]) {
  return (value: string): ValidationResult =>
    allowed.includes(value) ? true : `must be one of: ${allowed.join(', ')}`;
}

export const validateDatabase = oneOf(DATABASES);
export const validatePythonVersion = oneOf(PYTHON_VERSIONS);
export const validateBootVersion = oneOf(BOOT_VERSIONS);
export const validateCi = oneOf(CI_SYSTEMS);

// Docker's reference grammar (distribution/reference): a domain is dot-separated labels of
// [a-zA-Z0-9-] not starting or ending with "-", optionally ":port"; path components are
// [a-z0-9]+ joined by ".", "_", "__" or one or more "-". We only accept lower case anywhere,
// since upper case in a domain is legal but surprising and rejected by most registries' UIs.
const DOMAIN_LABEL = '(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])';
const DOMAIN = `(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[0-9a-f:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PREFIX_WITH_DOMAIN = new RegExp(`^${DOMAIN}(?:/${PATH_COMPONENT})*$`);
const PREFIX_PATH_ONLY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOCKER_NAME_MAX = 255;

/**
 * The part of the image name before `/<task-name>`: a registry, a namespace, or both.
 * Docker treats the first component as a registry only if it contains "." or ":" or is
 * "localhost"; otherwise it is the first path component and follows the path grammar.
 */
export function validateDockerPrefix(value: string): ValidationResult {
  const examples =
    'a registry and/or namespace such as "springcloud", "ghcr.io/acme" or ' +
    '"registry.example.com:5000/team/batch"';
  const rule = `use ${examples}: lower case, no tag or digest, no trailing "/"`;
  if (value.length === 0) return `must not be empty; ${rule}`;
  if (value.endsWith('/')) return `must not end with "/"; ${rule}`;
  if (value.includes('@')) return `must not contain a digest; ${rule}`;
  if (value !== value.toLowerCase()) {
    const lower = value.toLowerCase();
    // Say the rule once: the lower-case spelling is the fix when it is valid itself.
    return validateDockerPrefix(lower) === true
      ? `has upper-case letters; a registry and/or namespace is lower case: ${JSON.stringify(lower)}`
      : `has upper-case letters; ${rule}`;
  }
  // Longest possible task name plus "/": keeps the full repository name within Docker's limit.
  if (value.length + 1 + TASK_NAME_MAX > DOCKER_NAME_MAX)
    return `is too long for a Docker repository name; ${rule}`;
  const [first = '', ...rest] = value.split('/');
  // A ":" in a later component, or one not followed by a port number in the first, is a tag.
  const firstWithoutIpv6 = first.replace(/\[[^\]]*\]/, '');
  if (rest.some((c) => c.includes(':')) || /:(?![0-9]+$)/.test(firstWithoutIpv6))
    return `must not contain a tag; ${rule}`;
  const hasDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  return (hasDomain ? PREFIX_WITH_DOMAIN : PREFIX_PATH_ONLY).test(value) ? true : rule;
}

// Docker's tag grammar: [\w][\w.-]{0,127}
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function validateImageTag(value: string): ValidationResult {
  const rule =
    'use letters, digits, "_", "." and "-", not starting with "." or "-", at most 128 characters';
  if (value.length === 0) return `must not be empty; ${rule}`;
  return TAG.test(value) ? true : rule;
}
