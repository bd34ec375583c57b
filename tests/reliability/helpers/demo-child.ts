/**
 * Runs the demo as `npm run demo` would, for secrets.test.ts: `runDemo` with a fixed size and a
 * fixed number of rounds (the CLI has no --rounds flag yet), its narrative on stderr, so that
 * stdout holds nothing but the log lines. Started with `tsx` as a child process, so every log
 * line (pino writes to file descriptor 1 directly) is captured.
 */
import { runDemo } from '../../../src/cli/demo.js';

const people = Number(process.env.SMK_DEMO_PEOPLE ?? 60);
const rounds = Number(process.env.SMK_DEMO_ROUNDS ?? 2);
const seed = Number(process.env.SMK_DEMO_SEED ?? 3);

await runDemo({ people, seed, minutes: 0, rounds, port: 0, out: process.stderr });
process.exit(0);
