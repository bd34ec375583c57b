import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeStoredLead, encodeStoredLead, LEAD_CODEC_VERSION } from '../../../src/store/lead-codec.js';
import { twoViewLead } from '../../helpers/stored-lead.js';

describe('the stored lead codec', () => {
  it('round-trips a stored lead exactly', () => {
    const stored = twoViewLead();
    expect(decodeStoredLead(encodeStoredLead(stored))).toEqual(stored);
  });

  it('keeps a two-view lead in under a quarter of its JSON (the issue asks 2 KB per person in all)', () => {
    const stored = twoViewLead();
    const json = Buffer.byteLength(JSON.stringify(stored));
    const encoded = encodeStoredLead(stored).length;
    expect(json).toBeGreaterThan(4000);
    expect(encoded).toBeLessThan(json / 4);
    expect(encoded).toBeLessThan(1000);
  });

  it('reads a lead stored as JSON by an earlier version, with the schema filling its defaults', () => {
    const { marketing: _m, ...lead } = twoViewLead().lead;
    const legacy = Buffer.from(JSON.stringify({ lead, views: {} }));
    const decoded = decodeStoredLead(legacy);
    expect(decoded.lead.marketing).toEqual({ engagement: [] });
    expect(decoded.lead.id).toBe(lead.id);
  });

  it('refuses legacy JSON that is not a stored lead, naming what is wrong', () => {
    expect(() => decodeStoredLead(Buffer.from('{"lead":{"id":5}}'))).toThrow(/lead\.id|id/);
  });

  it('names an encoding it does not know (written by a newer version of the service)', () => {
    const future = Buffer.concat([Buffer.from([LEAD_CODEC_VERSION + 1]), deflateRawSync('{}')]);
    expect(() => decodeStoredLead(future)).toThrow(/encoding version 2 .*newer version/);
  });

  it('names a damaged value', () => {
    const damaged = encodeStoredLead(twoViewLead()).subarray(0, 40);
    expect(() => decodeStoredLead(damaged)).toThrow(/stored lead .*could not be read/);
  });
});
