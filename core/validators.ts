/**
 * Pure validators, one per input. Each returns `true` or a message that states the rule, so the
 * same function serves inquirer's `validate`, CLI options and values stored in `.yo-rc.json`.
 */
import { editDistance } from './edit-distance.js';

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

/** "a", "a and b", "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length < 2
    ? items.join('')
    : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}

/**
 * The allowed value a mistyped one most likely meant: the same in other case, one it begins or
 * that begins it (`postgres`), else the one fewest edits away (at most a third of its length);
 * none when nothing is that close or two are as close, since a wrong guess misleads.
 */
export function closestValue(value: string, allowed: readonly string[]): string | undefined {
  const typed = value.trim().toLowerCase();
  if (typed === '') return undefined;
  const exact = allowed.find((a) => a.toLowerCase() === typed);
  if (exact !== undefined) return exact;
  const prefixed = allowed.filter((a) => {
    const known = a.toLowerCase();
    return (
      Math.min(typed.length, known.length) >= 3 &&
      (known.startsWith(typed) || typed.startsWith(known))
    );
  });
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(typed.length / 3)) + 1;
  let tied = false;
  for (const candidate of allowed) {
    const d = editDistance(typed, candidate.toLowerCase());
    if (d === bestDistance) tied = true;
    if (d < bestDistance) [best, bestDistance, tied] = [candidate, d, false];
  }
  // Two values equally close: either guess could mislead.
  return tied ? undefined : best;
}

function oneOf(allowed: readonly string[]) {
  return (value: string): ValidationResult => {
    if (allowed.includes(value)) return true;
    const closest = closestValue(value, allowed);
    const guess = closest === undefined ? '' : ` (did you mean ${JSON.stringify(closest)}?)`;
    return `must be one of: ${allowed.join(', ')}${guess}`;
  };
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

/** Whether a lower-case prefix with no trailing "/" has a tag: a ":" not followed by a port. */
function hasTag(value: string): boolean {
  const [first = '', ...rest] = value.split('/');
  // A ":" in a later component, or one not followed by a port number in the first, is a tag.
  const firstWithoutIpv6 = first.replace(/\[[^\]]*\]/, '');
  return rest.some((c) => c.includes(':')) || /:(?![0-9]+$)/.test(firstWithoutIpv6);
}

function fitsGrammar(value: string): boolean {
  const [first = ''] = value.split('/');
  const hasDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  return (hasDomain ? PREFIX_WITH_DOMAIN : PREFIX_PATH_ONLY).test(value);
}

/**
 * The part of the image name before `/<task-name>`: a registry, a namespace, or both.
 * Docker treats the first component as a registry only if it contains "." or ":" or is
 * "localhost"; otherwise it is the first path component and follows the path grammar.
 * Every rule the value breaks is named at once, and the fix when lower case and no trailing "/"
 * make it valid.
 */
export function validateDockerPrefix(value: string): ValidationResult {
  const examples =
    'a registry and/or namespace such as "springcloud", "ghcr.io/acme" or ' +
    '"registry.example.com:5000/team/batch"';
  const rule = `use ${examples}: lower case, no tag or digest, no trailing "/"`;
  if (value.length === 0) return `must not be empty; ${rule}`;
  const upper = value !== value.toLowerCase();
  const trailing = value.endsWith('/');
  const candidate = value.toLowerCase().replace(/\/+$/, '');
  const broken: string[] = [];
  if (upper) broken.push('has upper-case letters');
  if (trailing) broken.push('must not end with "/"');
  if (value.includes('@')) broken.push('must not contain a digest');
  else if (hasTag(candidate)) broken.push('must not contain a tag');
  // Longest possible task name plus "/": keeps the full repository name within Docker's limit.
  if (candidate.length + 1 + TASK_NAME_MAX > DOCKER_NAME_MAX)
    broken.push('is too long for a Docker repository name');
  if (broken.length === 0) return fitsGrammar(value) ? true : rule;
  const said = listed(broken);
  // Say the rules once: the corrected spelling is the fix when it is valid itself.
  if (
    broken.length === Number(upper) + Number(trailing) &&
    candidate !== '' &&
    fitsGrammar(candidate)
  ) {
    const fix = [upper ? 'is lower case' : '', trailing ? 'has no trailing "/"' : ''].filter(
      (f) => f !== '',
    );
    return `${said}; a registry and/or namespace ${listed(fix)}: ${JSON.stringify(candidate)}`;
  }
  return `${said}; ${rule}`;
}

// Docker's tag grammar: [\w][\w.-]{0,127}
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function validateImageTag(value: string): ValidationResult {
  const rule =
    'use letters, digits, "_", "." and "-", not starting with "." or "-", at most 128 characters';
  if (value.length === 0) return `must not be empty; ${rule}`;
  return TAG.test(value) ? true : rule;
}
