#!/usr/bin/env node
// Starts Yeoman exactly as lib/bin/create-scdf-task.js does, with the one-file generator.
import { fileURLToPath } from 'node:url';
import { createEnv } from 'yeoman-environment';

const env = createEnv({ cwd: process.cwd(), skipInstall: true });
env.register(fileURLToPath(new URL('./generator.js', import.meta.url)), { namespace: 'floor:app' });
await env.run(['floor:app'], { skipInstall: true });
