import { readdirSync } from 'node:fs';
import path from 'node:path';
import { TEMPLATES_ROOT } from './package-info.js';

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
};

export interface TemplateSource {
  readonly source: string;
  readonly path: string;
  readonly owner: Owner;
  /** The databases the file is generated for; undefined: every one. */
  readonly databases?: readonly string[];
}

/**
 * `name[postgresql].py` or `name[mysql,mariadb].py`: a file only those databases get, under the
 * name without the tag, so that switching `--database` swaps its content like any other update.
 */
const DATABASE_TAG = /^(.+)\[([a-z0-9,]+)\](\.[^.]*)?$/;

function untagged(base: string): { name: string; databases?: readonly string[] } {
  const match = DATABASE_TAG.exec(base);
  if (!match) return { name: base };
  const [, stem = '', tags = '', extension = ''] = match;
  return { name: `${stem}${extension}`, databases: tags.split(',') };
}

export function forDatabase(
  sources: readonly TemplateSource[],
  database: string,
): TemplateSource[] {
  return sources.filter((s) => s.databases === undefined || s.databases.includes(database));
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
        const { name, databases } = untagged(path.posix.basename(relPath));
        const target = path.posix.join(path.posix.dirname(relPath), RENAMES[name] ?? name);
        found.push({
          source: path.join(dir, entry.name),
          path: target,
          owner,
          ...(databases && { databases }),
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
