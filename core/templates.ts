import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Answers } from './inputs.js';
import { TEMPLATES_ROOT } from './package-info.js';
import { CI_SYSTEMS } from './validators.js';

/**
 * Who a generated file belongs to. The folder a template sits in under `templates/` is the one
 * place that says so: `managed/` files follow the templates on every run, `user/` files are
 * written once and then belong to the user.
 */
export const OWNERS = ['managed', 'user'] as const;
export type Owner = (typeof OWNERS)[number];

// Left behind when the templates' own tests are run in place; never part of a project.
const IGNORED = new Set(['__pycache__', '.pytest_cache', '.ruff_cache', '.venv']);

// npm pack drops files named .gitignore/.npmrc, so dot-files are stored without the dot.
const RENAMES: Readonly<Record<string, string>> = {
  gitignore: '.gitignore',
  dockerignore: '.dockerignore',
  'gitlab-ci.yml': '.gitlab-ci.yml',
};
// The same for a folder at the top of an owner's templates: tools that look for
// `.github/workflows/` (actionlint, Dependabot) would take the EJS templates for real workflows.
const FOLDER_RENAMES: Readonly<Record<string, string>> = { github: '.github' };

export interface TemplateSource {
  readonly source: string;
  readonly path: string;
  readonly owner: Owner;
  /** The databases the file is generated for; undefined: every one. */
  readonly databases?: readonly string[];
  /** The CI systems the file is generated for; undefined: whichever (`none` included). */
  readonly ci?: readonly string[];
}

/**
 * `name[postgresql].py` or `name[mysql,mariadb].py`: a file only those databases get, under the
 * name without the tag, so that switching `--database` swaps its content like any other update.
 * A tag of CI systems (`ci[github].yml`, `name[github,gitlab].sh`) does the same for `--ci`.
 */
const TAG = /^(.+)\[([a-z0-9,]+)\](\.[^.]*)?$/;

function untagged(base: string): {
  name: string;
  databases?: readonly string[];
  ci?: readonly string[];
} {
  const match = TAG.exec(base);
  if (!match) return { name: base };
  const [, stem = '', tags = '', extension = ''] = match;
  const values = tags.split(',');
  const name = `${stem}${extension}`;
  return values.every((value) => (CI_SYSTEMS as readonly string[]).includes(value))
    ? { name, ci: values }
    : { name, databases: values };
}

export function forDatabase(
  sources: readonly TemplateSource[],
  database: string,
): TemplateSource[] {
  return sources.filter((s) => s.databases === undefined || s.databases.includes(database));
}

/** The templates a project with these answers is made of: its database's and its CI system's. */
export function forAnswers(
  sources: readonly TemplateSource[],
  answers: Pick<Answers, 'database' | 'ci'>,
): TemplateSource[] {
  return forDatabase(sources, answers.database).filter(
    (s) => s.ci === undefined || s.ci.includes(answers.ci),
  );
}

function listTemplates(templatesRoot: string, owner: Owner): TemplateSource[] {
  const root = path.join(templatesRoot, owner);
  const found: TemplateSource[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (IGNORED.has(entry.name) || entry.name.endsWith('.pyc')) continue;
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        walk(path.join(dir, entry.name), relPath);
      } else {
        const { name, databases, ci } = untagged(path.posix.basename(relPath));
        const [top = '', ...below] = path.posix.dirname(relPath).split('/');
        const folder = [FOLDER_RENAMES[top] ?? top, ...below].join('/');
        const target = path.posix.join(folder, RENAMES[name] ?? name);
        found.push({
          source: path.join(dir, entry.name),
          path: target,
          owner,
          ...(databases && { databases }),
          ...(ci && { ci }),
        });
      }
    }
  };
  walk(root, '');
  return found;
}

// A fleet run renders the same templates for every project: list them once per folder.
const templateCache = new Map<string, readonly TemplateSource[]>();

/**
 * All templates under `templatesRoot` (the packaged ones by default), sorted by output path so
 * that output order never depends on the file system.
 */
export function templateSources(templatesRoot = TEMPLATES_ROOT): readonly TemplateSource[] {
  let sources = templateCache.get(templatesRoot);
  if (!sources) {
    sources = OWNERS.flatMap((owner) => listTemplates(templatesRoot, owner)).sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
    );
    templateCache.set(templatesRoot, sources);
  }
  return sources;
}
