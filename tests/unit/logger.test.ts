import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  return { lines, stream: new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }) };
}

describe('logger redaction', () => {
  it('never writes tokens, secrets or personal values, at any depth', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', destination: stream });
    log.info({ accessToken: 'pat-secret-1', email: 'ada@example.com', req: { headers: { authorization: 'Bearer pat-secret-2' } }, lead: { person: { firstName: 'Ada', phone: '+1 555' }, email: 'x@y.z' }, leadId: 'L1' }, 'hello');
    const text = lines.join('');
    for (const secret of ['pat-secret-1', 'pat-secret-2', 'ada@example.com', 'Ada', '+1 555', 'x@y.z']) expect(text).not.toContain(secret);
    expect(text).toContain('"leadId":"L1"');
  });

  it("keeps the logger's name and top-level error codes readable", () => {
    const { lines, stream } = capture();
    createLogger({ level: 'info', destination: stream, name: 'smk' }).warn({ code: 'RATE_LIMITED' }, 'x');
    expect(lines[0]).toContain('"name":"smk"');
    expect(lines[0]).toContain('"code":"RATE_LIMITED"');
  });
});
