import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DATABASE_PROFILES, DEV_REQUIREMENTS, type DatabaseProfile } from './databases.js';
import type { Answers } from './inputs.js';
import { GENERATOR_VERSION, TEMPLATES_ROOT } from './package-info.js';
import { forAnswers, templateSources, type Owner } from './templates.js';
import { PYTHON_VERSIONS } from './validators.js';

/** The Python versions a project's lock installs on, for text: `3.11 to 3.14`. */
export const SUPPORTED_PYTHONS = `${PYTHON_VERSIONS[0]} to ${PYTHON_VERSIONS[PYTHON_VERSIONS.length - 1] ?? ''}`;

export interface TemplateContext extends Answers {
  readonly profile: DatabaseProfile;
  readonly devRequirements: readonly string[];
  readonly imageRepository: string;
  readonly imageRef: string;
  readonly generatorVersion: string;
  /**
   * The hash-pinned lock of the runtime dependencies for this database, as `npm run lock` wrote
   * it to `templates/locks/` (not a template itself): universal, so it holds for every supported
   * Python version, the image's and whatever python3 a developer has.
   */
  readonly lock: string;
  /** Every Python version the lock installs on, for text (`3.11 to 3.14`). */
  readonly supportedPythons: string;
  /** Every generated file with its owner, so the generated README can list them. */
  readonly files: readonly { readonly path: string; readonly owner: Owner }[];
}

/** What the templates see: the answers and what follows from them. */
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
    supportedPythons: SUPPORTED_PYTHONS,
    lock: readFileSync(path.join(templatesRoot, 'locks', `${answers.database}.txt`), 'utf8'),
    files: forAnswers(templateSources(templatesRoot), answers).map(({ path: p, owner }) => ({
      path: p,
      owner,
    })),
  };
}
