/**
 * What a batch of pushed changes (Salesforce Change Data Capture) asks of the pipeline: which
 * records to read, whether a poll must look (a gap the stream could not describe), where each
 * stream now stands, and how far each change feed's cursor may follow it. Pure.
 */
import type { RecordRef, StreamedChange, StreamPosition } from '../../connectors/types.js';

export interface StreamPlan {
  /** Records to read (deduplicated, in first-seen order): changes made by others, and gap events' records. */
  refs: RecordRef[];
  /** Our own write-back seen again: nothing to read. */
  own: number;
  /** An overflow event (no record ids) asks for a cursor poll. */
  poll: boolean;
  /** The last replay id per stream: stored once the batch is handed on. */
  replay: Record<string, number>;
  /** The newest commit time per stream (epoch ms). */
  committedAt: Record<string, number>;
}

export function planStreamBatch(changes: readonly StreamedChange[]): StreamPlan {
  const plan: StreamPlan = { refs: [], own: 0, poll: false, replay: {}, committedAt: {} };
  const seen = new Set<string>();
  for (const change of changes) {
    plan.replay[change.stream] = Math.max(plan.replay[change.stream] ?? change.replayId, change.replayId);
    plan.committedAt[change.stream] = Math.max(plan.committedAt[change.stream] ?? 0, change.committedAt);
    if (change.kind === 'overflow') {
      plan.poll = true;
      continue;
    }
    if (change.own) {
      plan.own += 1;
      continue;
    }
    for (const ref of change.refs) {
      const key = `${ref.object}:${ref.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      plan.refs.push(ref);
    }
  }
  return plan;
}

/**
 * Where a change feed's cursor may move once the stream delivered everything committed up to
 * `committedAt`: one second before that second (Salesforce stamps SystemModstamp in whole seconds,
 * and a commit's time may trail its stamp), inclusive, so a later change of the same second is
 * read again rather than skipped. Never backwards: null when the cursor is already there.
 */
export function cursorAfterStream(current: StreamPosition | null, committedAt: number): StreamPosition | null {
  const ts = Math.floor(committedAt / 1000) * 1000 - 1000;
  if (current && Date.parse(current.ts) >= ts) return null;
  return { ts: new Date(ts).toISOString(), id: '' };
}
