/**
 * Builds copier and cookiecutter templates equivalent to the generator's, from a project it
 * generated: the same files, with the task name and Docker prefix as template variables and
 * everything else passed through Jinja's raw blocks, so that each tool renders every file and
 * writes the same bytes.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function listFiles(dir, rel = '') {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((entry) => {
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(dir, relPath) : [relPath];
  });
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `content` as Jinja: each answer value becomes `{{ <name> }}`, the rest stays verbatim. */
function toJinja(content, variables) {
  const pattern = new RegExp(`(${Object.keys(variables).map(escapeRegExp).join('|')})`);
  return content
    .split(pattern)
    .map((part, index) =>
      index % 2 === 1 ? `{{ ${variables[part]} }}` : part && `{% raw %}${part}{% endraw %}`,
    )
    .join('');
}

function writeTemplateFile(target, content, mode) {
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, content);
  chmodSync(target, mode);
}

/** Writes `copier/` and `cookiecutter/` templates under `outDir` from the project in `projectDir`. */
export function buildPeerTemplates(projectDir, outDir, answers) {
  const files = listFiles(projectDir).filter((relPath) => relPath !== '.yo-rc.json');
  const copier = path.join(outDir, 'copier');
  const cookiecutter = path.join(outDir, 'cookiecutter');
  mkdirSync(copier, { recursive: true });
  mkdirSync(cookiecutter, { recursive: true });
  writeFileSync(
    path.join(copier, 'copier.yml'),
    `_templates_suffix: .jinja\n_subdirectory: project\n` +
      `task_name:\n  type: str\n  default: ${answers.taskName}\n` +
      `docker_prefix:\n  type: str\n  default: "${answers.dockerPrefix}"\n`,
  );
  writeFileSync(
    path.join(cookiecutter, 'cookiecutter.json'),
    JSON.stringify({ task_name: answers.taskName, docker_prefix: answers.dockerPrefix }),
  );
  for (const relPath of files) {
    const source = path.join(projectDir, relPath);
    const content = readFileSync(source, 'utf8');
    const mode = statSync(source).mode & 0o777;
    writeTemplateFile(
      path.join(copier, 'project', `${relPath}.jinja`),
      toJinja(content, {
        [answers.taskName]: 'task_name',
        [answers.dockerPrefix]: 'docker_prefix',
      }),
      mode,
    );
    writeTemplateFile(
      path.join(cookiecutter, '{{cookiecutter.task_name}}', relPath),
      toJinja(content, {
        [answers.taskName]: 'cookiecutter.task_name',
        [answers.dockerPrefix]: 'cookiecutter.docker_prefix',
      }),
      mode,
    );
  }
  return { copier, cookiecutter, files };
}
