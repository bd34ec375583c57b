/**
 * The bench's sandbox process holds both CRMs in memory. At a million people it reached Node's
 * default heap limit during the sync's writes and stopped answering; its heap is now sized to the
 * world (bench/lib/proc.ts sandboxHeapMb).
 */
import { describe, expect, it } from 'vitest';
import { sandboxHeapMb } from '../../../bench/lib/proc.js';

const GB = 1024 ** 3;

describe('the sandbox process heap', () => {
  it('keeps Node\'s default for the usual worlds', () => {
    expect(sandboxHeapMb(20_000, 24 * GB)).toBeNull();
    expect(sandboxHeapMb(200_000, 24 * GB)).toBeNull();
  });

  it('gives a million people 12 KB each, within 60 % of the machine', () => {
    expect(sandboxHeapMb(1_000_000, 24 * GB)).toBe(11_719);
    expect(sandboxHeapMb(1_000_000, 8 * GB)).toBe(4915);
    expect(sandboxHeapMb(1_000_000, 4 * GB)).toBe(4096);
  });
});
