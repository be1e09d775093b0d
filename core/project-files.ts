import { compiledTemplate } from './template-compiler.js';
import type { Answers } from './inputs.js';
import { GENERATOR_VERSION, TEMPLATES_ROOT } from './package-info.js';
import { templateContext } from './template-context.js';
import { forAnswers, templateSources, type Owner } from './templates.js';

// The front ends and tests take these from the plan's module; each is defined in its own.
export { GENERATOR_VERSION, TEMPLATES_ROOT } from './package-info.js';
export { sha256 } from './hash.js';
export { templateSources } from './templates.js';

export interface PlannedFile {
  /** POSIX path relative to the project root. */
  readonly path: string;
  readonly owner: Owner;
  readonly content: string;
  readonly executable: boolean;
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
  return forAnswers(templateSources(templatesRoot), answers).map(({ source, path: p, owner }) => ({
    path: p,
    owner,
    // Templates only use `<%-`: values are validated and escaped for the target language.
    content: compiledTemplate(source)(context),
    executable: p.endsWith('.sh'),
  }));
}
