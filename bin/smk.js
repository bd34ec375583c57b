#!/usr/bin/env node
// The `smk` command. The sources are TypeScript run through tsx's loader, so `npx smk` works
// from a clone without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
