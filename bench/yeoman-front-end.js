#!/usr/bin/env node
// The Yeoman front end as `yo scdf-task` starts it (through yeoman-environment), for comparison.
import { fileURLToPath } from 'node:url';
import { createEnv } from 'yeoman-environment';

const generator = fileURLToPath(new URL('../lib/generators/app/index.js', import.meta.url));
const env = createEnv({ cwd: process.cwd(), skipInstall: true });
env.register(generator, { namespace: 'scdf-task:app' });
await env.run(['scdf-task:app', ...process.argv.slice(2)], { skipInstall: true });
