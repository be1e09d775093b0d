import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATABASE_PROFILES, DEV_REQUIREMENTS, type DatabaseProfile } from './databases.js';
import type { Answers } from './inputs.js';

/**
 * Who a generated file belongs to. The folder a template sits in under `templates/` is the one
 * place that says so: `managed/` files follow the templates on every run, `user/` files are
 * written once and then belong to the user.
 */
export const OWNERS = ['managed', 'user'] as const;
export type Owner = (typeof OWNERS)[number];

export interface PlannedFile {
  /** POSIX path relative to the project root. */
  readonly path: string;
  readonly owner: Owner;
  readonly content: string;
  readonly executable: boolean;
}

export interface TemplateContext extends Answers {
  readonly profile: DatabaseProfile;
  readonly devRequirements: readonly string[];
  readonly imageRepository: string;
  readonly imageRef: string;
  readonly generatorVersion: string;
  /**
   * The hash-pinned lock of the runtime dependencies for this database and Python version, as
   * `npm run lock` wrote it to `templates/locks/` (not a template itself).
   */
  readonly lock: string;
  /** Every generated file with its owner, so the generated README can list them. */
  readonly files: readonly { readonly path: string; readonly owner: Owner }[];
}

function findPackageRoot(): string {
  // The same module runs from generators/app (tests) and lib/generators/app (published).
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'templates'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('generator-scdf-task: templates/ folder not found');
    dir = parent;
  }
  return dir;
}

export const PACKAGE_ROOT = findPackageRoot();
export const TEMPLATES_ROOT = path.join(PACKAGE_ROOT, 'templates');

export const GENERATOR_VERSION: string = (
  JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

// Left behind when the templates' own tests are run in place; never part of a project.
const IGNORED = new Set(['__pycache__', '.pytest_cache', '.ruff_cache', '.venv']);

// npm pack drops files named .gitignore/.npmrc, so dot-files are stored without the dot.
const RENAMES: Readonly<Record<string, string>> = {
  gitignore: '.gitignore',
  dockerignore: '.dockerignore',
};

interface TemplateSource {
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

function forDatabase(sources: readonly TemplateSource[], database: string): TemplateSource[] {
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

export function templateContext(
  answers: Answers,
  templatesRoot = TEMPLATES_ROOT,
  generatorVersion = GENERATOR_VERSION,
): TemplateContext {
  const imageRepository = `${answers.dockerPrefix}/${answers.taskName}`;
  return {
    ...answers,
    profile: DATABASE_PROFILES[answers.database],
    devRequirements: DEV_REQUIREMENTS,
    imageRepository,
    imageRef: `${imageRepository}:${answers.imageTag}`,
    generatorVersion,
    lock: readFileSync(
      path.join(templatesRoot, 'locks', `${answers.database}-py${answers.pythonVersion}.txt`),
      'utf8',
    ),
    files: forDatabase(templateSources(templatesRoot), answers.database).map(
      ({ path: p, owner }) => ({
        path: p,
        owner,
      }),
    ),
  };
}

type Render = (context: TemplateContext) => string;

interface CompiledTemplate {
  readonly sha256: string;
  readonly render: Render;
}

const require = createRequire(import.meta.url);

// The build (scripts/compile-templates.js) compiles the packaged templates ahead of time, so that
// a run loads no EJS; running from the sources (tests) there is no such file.
let precompiled: Readonly<Record<string, CompiledTemplate>> | null | undefined;

function precompiledTemplates(): Readonly<Record<string, CompiledTemplate>> | null {
  if (precompiled === undefined) {
    const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'compiled-templates.cjs');
    precompiled = existsSync(file)
      ? (require(file) as Readonly<Record<string, CompiledTemplate>>)
      : null;
  }
  return precompiled;
}

// A fleet run renders the same templates many times: each is looked up or compiled once.
const compiled = new Map<string, Render>();

function compiledTemplate(source: string): Render {
  let render = compiled.get(source);
  if (!render) {
    const text = readFileSync(source, 'utf8');
    const key = path.relative(TEMPLATES_ROOT, source).split(path.sep).join('/');
    const built = precompiledTemplates()?.[key];
    // A template edited since the build (or one from another templates folder) is compiled
    // from its text, so that the output always follows the file.
    if (built && built.sha256 === sha256(text)) {
      render = built.render;
    } else {
      const ejs = require('ejs') as typeof import('ejs');
      // compileDebug off halves compile time; the templates' own tests catch template errors.
      render = ejs.compile(text, { filename: source, compileDebug: false });
    }
    compiled.set(source, render);
  }
  return render;
}

/**
 * Renders every template for these answers. Pure: same answers and templates, same bytes. The
 * version is the one the output names (an older one when rendering an update's base).
 */
export function planProject(
  answers: Answers,
  templatesRoot = TEMPLATES_ROOT,
  generatorVersion = GENERATOR_VERSION,
): PlannedFile[] {
  const context = templateContext(answers, templatesRoot, generatorVersion);
  return forDatabase(templateSources(templatesRoot), answers.database).map(
    ({ source, path: p, owner }) => ({
      path: p,
      owner,
      // Templates only use `<%-`: values are validated and escaped for the target language.
      content: compiledTemplate(source)(context),
      executable: p.endsWith('.sh'),
    }),
  );
}

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
