#!/usr/bin/env node
// The Yeoman front end in its own process, started the way `yo scdf-task ARGS` starts it (through
// yeoman-environment), but without yo's lookup of installed generators and its root handling.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEnv } from 'yeoman-environment';

const generator = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../lib/generators/app/index.js',
);
const env = createEnv({ cwd: process.cwd(), skipInstall: true });
env.register(generator, { namespace: 'scdf-task:app' });
await env.run(['scdf-task:app', ...process.argv.slice(2)], { skipInstall: true });
