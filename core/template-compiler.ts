import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from './hash.js';
import { TEMPLATES_ROOT } from './package-info.js';
import type { TemplateContext } from './template-context.js';

export type Render = (context: TemplateContext) => string;

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

/** The render function of one template file. */
export function compiledTemplate(source: string): Render {
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
