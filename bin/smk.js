#!/usr/bin/env node
// The `smk` command of a clone. The sources are TypeScript run through tsx's loader (a development
// dependency), so `npx smk` works after `npm install` without a build step and never runs stale
// output. Production runs the compiled JavaScript of `npm run build` instead: `node dist/src/cli.js`
// (the Docker image's entry point).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
