import type { Answers } from './inputs.js';
import { SUPPORTED_PYTHONS, templateContext } from './template-context.js';

/** What to do after generating: the path from a fresh project to a launched task. */
export function nextSteps(answers: Answers, projectDir: string): string {
  const { imageRef } = templateContext(answers);
  const shell = (file: string) =>
    `java -jar spring-cloud-dataflow-shell-<version>.jar --dataflow.uri=http://localhost:9393 --spring.shell.commandFile=scdf/${file}`;
  return [
    '',
    'Next steps:',
    `  cd ${projectDir || '.'}`,
    // Any supported python3 will do: the lock is universal, the image alone pins its Python.
    `  python3 -m venv .venv && . .venv/bin/activate   # python3: any of ${SUPPORTED_PYTHONS}`,
    '  pip install --require-hashes -r requirements-scdf.txt && pip install -r requirements-dev.txt',
    '  pytest                              # your tests and a smoke test of the utilities',
    "  pytest tests/scdf                   # the utilities' whole suite",
    '  python -m util.local_run            # run the task against a local SQLite stand-in',
    `  docker build -t ${imageRef} . && docker push ${imageRef}`,
    `  ${shell('register.shell')}`,
    `  ${shell('launch.shell')}`,
    '  SCDF_URL=http://localhost:9393 scripts/scdf-rest.sh   # or all of it through the REST API',
    '',
    'README.md explains every file, launch styles, composed tasks and template updates.',
  ].join('\n');
}
