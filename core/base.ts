import { resolveGivenAnswers, withDefaults } from './answers.js';
import type { Project } from './locate.js';
import { matchesHash } from './hash.js';
import { GENERATOR_VERSION, TEMPLATES_ROOT } from './package-info.js';
import { planProject } from './project-files.js';
import type { Base } from './reconcile.js';
import { releasedTemplates, type SuppliedBase } from './released-templates.js';

/** The base of a three-way update: what the generator last wrote, and how to get its text. */
export interface UpdateBase {
  readonly base: ReadonlyMap<string, Base>;
  /**
   * The text last written at a path, rendered again from the templates of the version that wrote
   * it; undefined when that version cannot be had or its render is not what was recorded.
   */
  readonly content: (relPath: string) => Promise<string | undefined>;
  /** Why the texts could not be had, once one was asked for and could not be. */
  readonly unavailable: () => string | undefined;
}

const NONE: UpdateBase = {
  base: new Map(),
  content: () => Promise.resolve(undefined),
  unavailable: () => undefined,
};

/**
 * What the generator last wrote, per path, as `.yo-rc.json` records it: owner and hash (the
 * whole text in records of earlier versions; for the oldest, the managed files' hashes only).
 *
 * The text is got as copier gets it: the recorded answers rendered with the templates of the
 * recorded version (given with `--base`; else the installed ones when it is this version; else
 * that version as `releasedTemplates` finds it). Only a file whose render hashes to what was recorded is used: a render that
 * differs (older rendering code, hand-edited templates) would pass for edits nobody made.
 */
export function updateBase(
  project: Project | undefined,
  cwd: string,
  supplied?: SuppliedBase,
): UpdateBase {
  const state = project?.state;
  if (!state) return NONE;
  const base = new Map<string, Base>();
  if (state.lastGenerated) {
    for (const [relPath, file] of Object.entries(state.lastGenerated)) base.set(relPath, file);
  } else {
    for (const [relPath, hash] of Object.entries(state.managedFiles))
      base.set(relPath, { owner: 'managed', sha256: hash });
  }

  let failure: string | undefined;
  const mismatched: string[] = [];
  let rendered: Promise<ReadonlyMap<string, string>> | undefined;
  const render = async (): Promise<ReadonlyMap<string, string>> => {
    const version = state.generatorVersion;
    if (version === undefined) throw new Error('the project records no generator version');
    // run.ts has refused a --base of another version.
    const templatesRoot =
      supplied?.templates ??
      (version === GENERATOR_VERSION
        ? TEMPLATES_ROOT
        : await releasedTemplates(version, cwd, project.root));
    const answers = withDefaults(
      resolveGivenAnswers({ options: {}, stored: state.answers, existing: true }).given,
    );
    const texts = new Map<string, string>();
    for (const file of planProject(answers, templatesRoot, version))
      texts.set(file.path, file.content);
    return texts;
  };
  return {
    base,
    async content(relPath) {
      const recorded = base.get(relPath);
      if (!recorded) return undefined;
      if (recorded.content !== undefined) return recorded.content;
      rendered ??= render().catch((error: unknown) => {
        failure = (error as Error).message;
        return new Map<string, string>();
      });
      const text = (await rendered).get(relPath);
      if (text !== undefined && matchesHash(text, recorded.sha256)) return text;
      if (failure === undefined) mismatched.push(relPath);
      return undefined;
    },
    unavailable() {
      const version = `generator-scdf-task ${state.generatorVersion ?? '(no version recorded)'}`;
      if (failure !== undefined) return `the templates of ${version} could not be had: ${failure}`;
      if (mismatched.length > 0)
        return `the templates of ${version} no longer render what it wrote to ${mismatched.join(', ')}`;
      return undefined;
    },
  };
}
