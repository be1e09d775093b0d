/**
 * Helpers for the generated-project tests: render a project from the templates into a temp
 * folder, read its Dockerfile, and lay out what `docker build` would put in the image (no Docker
 * engine here), by applying .dockerignore and the Dockerfile's WORKDIR/COPY instructions.
 */
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Ignore } from '@balena/dockerignore';
import { withDefaults } from '../../core/answers.js';
import type { Answers } from '../../core/inputs.js';
import { planProject, type PlannedFile } from '../../core/project-files.js';
import { tempDir } from '../support/cli.js';

export interface RenderedProject {
  readonly dir: string;
  readonly answers: Answers;
  readonly files: readonly PlannedFile[];
  /** Content of one generated file; throws when the templates do not make it. */
  read(relPath: string): string;
}

/** Renders the templates for `given` (defaults for the rest) and writes them to a temp folder. */
export function renderProject(given: Partial<Answers> = {}): RenderedProject {
  const answers = withDefaults(given);
  const files = planProject(answers);
  const dir = tempDir('scdf-project-');
  for (const file of files) {
    const full = path.join(dir, file.path);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, file.content);
    chmodSync(full, file.executable ? 0o755 : 0o644);
  }
  const byPath = new Map(files.map((file) => [file.path, file.content]));
  return {
    dir,
    answers,
    files,
    read(relPath: string): string {
      const content = byPath.get(relPath);
      if (content === undefined) throw new Error(`the templates make no ${relPath}`);
      return content;
    },
  };
}

export interface Instruction {
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  readonly args: string;
  readonly line: number;
}

/** Dockerfile instructions in order; comments and blank lines dropped, `\` continuations joined. */
export function parseDockerfile(content: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  content.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending !== '' && line.trimStart().startsWith('#')) return; // comment inside a continuation
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (!match?.[1]) throw new Error(`Dockerfile line ${startLine}: cannot parse ${full}`);
    instructions.push({ keyword: match[1].toUpperCase(), args: match[2] ?? '', line: startLine });
  });
  if (pending !== '') throw new Error('Dockerfile ends inside a continuation line');
  return instructions;
}

/** The JSON array of an exec-form instruction (ENTRYPOINT, CMD); throws for the shell form. */
export function execForm(instruction: Instruction | undefined): string[] {
  if (!instruction) throw new Error('instruction missing');
  const parsed: unknown = JSON.parse(instruction.args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new Error(`${instruction.keyword} is not in exec form: ${instruction.args}`);
  }
  return parsed;
}

/** `KEY=value` pairs of ENV and LABEL instructions (quoted values unquoted). */
export function keyValues(
  instructions: readonly Instruction[],
  keyword: string,
): Map<string, string> {
  const pairs = new Map<string, string>();
  const pair = /([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (const instruction of instructions.filter((i) => i.keyword === keyword)) {
    for (const match of instruction.args.matchAll(pair)) {
      const [, key = '', value = ''] = match;
      pairs.set(key, value.startsWith('"') ? (JSON.parse(value) as string) : value);
    }
  }
  return pairs;
}

/** A COPY source glob: `*` and `?` stay within a path segment, `**` spans segments. */
function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === '*' && pattern.charAt(i + 1) === '*') {
      const slash = pattern.charAt(i + 2) === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const end = pattern.indexOf(']', i);
      source += pattern.slice(i, end + 1);
      i = end;
    } else source += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * Whether `relPath` (POSIX, relative to the build context) is left out of the context by these
 * .dockerignore lines, with Docker's own matching rules (@balena/dockerignore, a port of
 * Docker's Go implementation: a pattern also excludes everything under a folder it matches,
 * later `!` lines re-include).
 */
// A CommonJS module whose types declare an ES default export: required, so that the function is
// the module itself in Node and in TypeScript alike.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;

export function dockerIgnored(relPath: string, dockerignore: string): boolean {
  return ignore().add(dockerignore.split('\n')).ignores(relPath);
}

function listFiles(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((entry) => {
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(dir, relPath) : [relPath];
  });
}

export interface SimulatedImage {
  /** Stands for the image's `/`. */
  readonly root: string;
  /** The Dockerfile's last WORKDIR, inside `root`. */
  readonly workdir: string;
  /** Files COPY put in the image, as image paths (`/app/python_task.py`), sorted. */
  readonly copied: readonly string[];
  /** Maps an absolute image path to the folder that stands for it. */
  hostPath(imagePath: string): string;
}

/**
 * Lays out what `docker build` would copy from `contextDir` into the image: the build context is
 * the folder minus .dockerignore, and each COPY (sources: `.`, folders, or globs of the context)
 * lands under the current WORKDIR. Fails on instructions it cannot simulate (ADD, COPY --from).
 */
export function simulateImage(contextDir: string): SimulatedImage {
  const dockerfile = readFileSync(path.join(contextDir, 'Dockerfile'), 'utf8');
  const dockerignore = readFileSync(path.join(contextDir, '.dockerignore'), 'utf8');
  const context = listFiles(contextDir).filter((file) => !dockerIgnored(file, dockerignore));
  const root = tempDir('scdf-image-');
  chmodSync(root, 0o755);
  const hostPath = (imagePath: string): string => path.join(root, imagePath);
  let workdir = '/';
  const copied = new Set<string>();
  for (const instruction of parseDockerfile(dockerfile)) {
    if (instruction.keyword === 'ADD') throw new Error('ADD is not simulated; use COPY');
    if (instruction.keyword === 'WORKDIR') {
      workdir = path.posix.resolve(workdir, instruction.args.trim());
      mkdirSync(hostPath(workdir), { recursive: true, mode: 0o755 });
    }
    if (instruction.keyword !== 'COPY') continue;
    const words = instruction.args.split(/\s+/).filter((word) => word !== '');
    if (words.some((word) => word.startsWith('--from')))
      throw new Error('COPY --from is not simulated');
    const [destination, ...reversedSources] = words
      .filter((word) => !word.startsWith('--'))
      .reverse();
    if (!destination || reversedSources.length === 0)
      throw new Error(`bad COPY: ${instruction.args}`);
    const target = path.posix.resolve(workdir, destination);
    for (const source of reversedSources.reverse()) {
      const normalized = path.posix.normalize(source).replace(/\/$/, '');
      const matcher =
        normalized === '.'
          ? () => true
          : (file: string) =>
              globToRegExp(normalized).test(file) || file.startsWith(`${normalized}/`);
      const strip = normalized === '.' || /[*?[]/.test(normalized) ? '' : normalized;
      for (const file of context.filter(matcher)) {
        // A glob or a single file lands by its base name; a folder's contents keep their layout.
        const rel = strip
          ? path.posix.relative(strip, file)
          : normalized === '.'
            ? file
            : path.posix.basename(file);
        const imagePath = path.posix.join(target, rel || path.posix.basename(file));
        mkdirSync(path.dirname(hostPath(imagePath)), { recursive: true, mode: 0o755 });
        copyFileSync(path.join(contextDir, file), hostPath(imagePath));
        copied.add(imagePath);
      }
    }
  }
  // COPY creates parents as root with mode 755; mkdirSync's mode is filtered by the umask.
  for (const dir of new Set([...copied].map((file) => path.posix.dirname(file)))) {
    for (let d = dir; d !== '/'; d = path.posix.dirname(d)) chmodSync(hostPath(d), 0o755);
  }
  return { root, workdir, copied: [...copied].sort(), hostPath };
}
