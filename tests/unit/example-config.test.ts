import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config.js';

describe('smarketing.example.yaml', () => {
  it('is a complete, valid configuration', () => {
    const config = parseConfigText(readFileSync('smarketing.example.yaml', 'utf8'), 'smarketing.example.yaml');
    expect(config.sync.pollEvery).toBe(30_000);
    expect(config.sync.writeLease).toBe(120_000);
    expect(config.sync.ownership['person.title']).toBe('two-way');
    expect(config.sla.firstTouch.calendar.tz).toBe('America/New_York');
  });
});
