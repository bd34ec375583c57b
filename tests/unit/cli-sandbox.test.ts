/** src/cli/sandbox.ts: only a missing sandbox module reads as "not part of this installation". */
import { describe, expect, it } from 'vitest';
import { SandboxUnavailableError, isMissingSandbox } from '../../src/cli/sandbox.js';

function notFound(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_MODULE_NOT_FOUND' });
}

describe('smk sandbox and smk demo without the sandboxes', () => {
  it('a missing sandbox module is the Docker image case', () => {
    expect(isMissingSandbox(notFound("Cannot find module '/app/connectors/sandbox/start.ts' imported from /app/src/cli/sandbox.ts"))).toBe(true);
    expect(isMissingSandbox(notFound("Cannot find module '/app/connectors/hubspot/sandbox/index.ts' imported from /app/connectors/sandbox/start.ts"))).toBe(true);
    expect(isMissingSandbox(notFound("Cannot find module 'C:\\app\\connectors\\salesforce\\sandbox\\index.ts' imported from C:\\app\\connectors\\sandbox\\start.ts"))).toBe(true);
  });

  it('a package missing under present sandbox code, or any other error, keeps its own message', () => {
    expect(isMissingSandbox(notFound("Cannot find package 'express' imported from /app/connectors/hubspot/sandbox/app.ts"))).toBe(false);
    expect(isMissingSandbox(notFound("Cannot find module '/app/src/cli/run.ts' imported from /app/src/cli/program.ts"))).toBe(false);
    expect(isMissingSandbox(new Error("Cannot find module '/app/connectors/sandbox/start.ts'"))).toBe(false);
    expect(isMissingSandbox('connectors/sandbox/start.ts')).toBe(false);
  });

  it('says which command cannot run and where it can', () => {
    const err = new SandboxUnavailableError('demo');
    expect(err.message).toMatch(/^demo: the HubSpot and Salesforce sandboxes are not part of this installation \(the Docker image ships the service only\); run `npx smk sandbox` or `npx smk demo` from a clone/);
  });
});
