/**
 * What a person's identity keys cost in Redis: the email index, a link per CRM record and the
 * lead's two counters, as the store writes them for 1,000 people, sized by MEMORY USAGE (the
 * bytes Redis holds, its own per-key bookkeeping included). A key per entry cost about 600 bytes a
 * person (email 149, the two links 120 and 123, version and evaluated 104 each, in the benchmark).
 * And reading many leads' counters stays one command, as the MGET of the counters' own keys was
 * (`smk sync --once` reads every watched lead's evaluated version several times a second).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../../src/store/keys.js';
import { LeadStore } from '../../../src/store/leads.js';
import { scanKeys } from '../../../src/store/redis.js';
import { testRedis } from '../../helpers/redis.js';
import type { TestRedis } from '../../helpers/redis.js';

const PEOPLE = 1000;

let t: TestRedis;
beforeAll(async () => { t = await testRedis('index-memory'); });
afterAll(async () => { await t.cleanup(); });

async function bytesUnder(prefix: string): Promise<{ keys: number; bytes: number }> {
  let keys = 0;
  let bytes = 0;
  for await (const batch of scanKeys(t.redis, `${prefix}:*`)) {
    const pipe = t.redis.pipeline();
    for (const key of batch) pipe.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    for (const [, size] of (await pipe.exec()) ?? []) {
      keys += 1;
      bytes += Number(size ?? 0);
    }
  }
  return { keys, bytes };
}

describe("the identity index and the leads' counters in Redis", () => {
  it('costs under 450 bytes a person for an email, two record links and the two counters', async () => {
    const prefix = t.prefix.replace(/:$/, '');
    const leads = new LeadStore(t.redis, createKeys(prefix));
    const pipeline: Array<Promise<unknown>> = [];
    for (let i = 0; i < PEOPLE; i += 1) {
      const leadId = `L${i.toString(16).padStart(20, '0')}`;
      pipeline.push(
        leads.setEmail(`person.${i}@example-company.com`, leadId),
        leads.setLink('hubspot', 'contact', String(10_000_000 + i), leadId),
        leads.setLink('salesforce', 'Lead', `00Q${i.toString().padStart(12, '0')}AAA`, leadId),
        leads.bumpVersion(leadId).then(() => leads.markEvaluated(leadId, 1)),
      );
    }
    await Promise.all(pipeline);
    // Still read back as written.
    expect(await leads.leadByEmail('person.7@example-company.com')).toBe(`L${'7'.padStart(20, '0')}`);
    expect(await leads.linkOf('salesforce', 'Lead', `00Q${'7'.padStart(12, '0')}AAA`)).toBe(`L${'7'.padStart(20, '0')}`);
    expect(await leads.evaluatedVersions([`L${'7'.padStart(20, '0')}`])).toEqual([1]);

    const { bytes } = await bytesUnder(prefix);
    expect(Math.round(bytes / PEOPLE)).toBeLessThan(450);
  });

  it("reads 1,000 leads' counters in one command, as one MGET did (not a command per lead)", async () => {
    const prefix = `${t.prefix.replace(/:$/, '')}:reads`;
    const leads = new LeadStore(t.redis, createKeys(prefix));
    const ids = Array.from({ length: PEOPLE }, (_, i) => `L${i.toString(16).padStart(20, '0')}`);
    await Promise.all(ids.map((id, i) => (i % 2 === 0 ? leads.bumpVersion(id) : Promise.resolve(0))));
    await leads.versions(ids.slice(0, 1)); // the script is loaded once per Redis
    const redis = t.redis as unknown as { sendCommand: (...args: unknown[]) => unknown };
    const send = redis.sendCommand.bind(t.redis);
    let sent = 0;
    redis.sendCommand = (...args: unknown[]) => { sent += 1; return send(...args); };
    try {
      const versions = await leads.versions(ids);
      const evaluated = await leads.evaluatedVersions(ids);
      expect(versions.slice(0, 4)).toEqual([1, 0, 1, 0]);
      expect(evaluated.every((v) => v === 0)).toBe(true);
    } finally {
      redis.sendCommand = send;
    }
    expect(sent).toBe(2);
  });
});
