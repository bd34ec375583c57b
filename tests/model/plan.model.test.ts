/**
 * Layer 1, write planning: `planWrites` / `diffSmk` with pending-write supersession, driven by
 * fast-check's `fc.commands` against a model. The system is the shell's bookkeeping in miniature
 * (a pending entry per record coalesced as src/store/pending.ts does, a batch that leaves and
 * lands later, what the record is known to hold, the CRM itself); the model is only the latest
 * desired value of each field. Checked: a batch that leaves never carries a value superseded
 * before it left; once drained the CRM holds the desired values; a quiet plan plans nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordUpdate } from '../../connectors/types.js';
import { SMK_FIELD_BY_KEY, normaliseSmkValue } from '../../src/model/fields.js';
import type { SmkFieldKey } from '../../src/model/fields.js';
import type { CrmName } from '../../src/model/lead.js';
import { coalesceUpdates, planWrites, writesTo } from '../../src/sync/plan.js';
import type { SmkValues } from '../../src/sync/plan.js';
import { modelParameters } from './fc-settings.js';

const FIELDS = ['score', 'grade', 'stage', 'scoreReasons', 'slaDueAt', 'salesDecision'] as const satisfies readonly SmkFieldKey[];
type Field = (typeof FIELDS)[number];

/** Values in the spellings a plan or a CRM may use: "17" and "17.0", "HOT" and "hot", ISO and epoch ms. */
const VALUES: Record<Field, ReadonlyArray<string | null>> = {
  score: ['17', '17.0', '42', '0', null],
  grade: ['hot', 'HOT', 'warm', 'cold', null],
  stage: ['lead', 'mql', 'sql'],
  scoreReasons: ['+20 Senior title', '+6 Page view ×8', ''],
  slaDueAt: ['2026-03-02T13:00:00.000Z', '1772456400000', null],
  salesDecision: ['accepted', 'rejected', null],
};

const norm = (field: Field, v: string | null | undefined) => normaliseSmkValue(SMK_FIELD_BY_KEY.get(field)!, v);

interface Model {
  crm: CrmName;
  /** The latest desired value of each field (from the latest plan that named it). */
  latest: Partial<Record<Field, string | null>>;
}

interface Entry {
  update: RecordUpdate;
  version: number;
}

interface System {
  crm: CrmName;
  /** What the record holds in the CRM. */
  record: SmkValues;
  /** What the connector knows it holds (held store: replaced by a read, merged by a write). */
  held: SmkValues;
  pending: Entry | null;
  /** The batch that left and has not landed yet. */
  inFlight: { update: RecordUpdate; version: number } | null;
  /** Every batch that left: its values and the latest desired values when it left. */
  left: Array<{ values: SmkValues; latest: Partial<Record<Field, string | null>> }>;
}

const REF = { object: 'contact' as const, id: '501' };

function plan(s: System, desired: SmkValues): RecordUpdate | null {
  const plans = planWrites({ desired, targets: { [s.crm]: { ref: REF, held: s.held, pending: s.pending?.update.smk ?? s.inFlight?.update.smk ?? {}, writable: true } } });
  return plans[0]?.update ?? null;
}

/** A new plan, coalesced into the pending entry as PendingStore.add does (newest value wins). */
class Evaluate implements fc.Command<Model, System> {
  constructor(readonly desired: Partial<Record<Field, string | null>>) {}
  check = () => true;
  run(m: Model, s: System): void {
    const update = plan(s, this.desired);
    for (const [k, v] of Object.entries(this.desired)) m.latest[k as Field] = v;
    if (!update) return;
    if (s.pending) s.pending = { update: coalesceUpdates(s.pending.update, update), version: s.pending.version + 1 };
    else if (s.inFlight) s.pending = { update: coalesceUpdates(s.inFlight.update, update), version: s.inFlight.version + 1 };
    else s.pending = { update, version: 1 };
  }
  toString = () => `evaluate(${JSON.stringify(this.desired)})`;
}

/** The batch leaves: the pending entry is taken (leased) and its values go out. */
class BatchLeaves implements fc.Command<Model, System> {
  check = (_m: Readonly<Model>) => true;
  run(m: Model, s: System): void {
    if (!s.pending || s.inFlight) return;
    s.inFlight = { update: s.pending.update, version: s.pending.version };
    s.pending = null;
    s.left.push({ values: { ...s.inFlight.update.smk }, latest: { ...m.latest } });
    // Never a value superseded before its batch left.
    for (const [k, v] of Object.entries(s.inFlight.update.smk)) {
      const field = k as Field;
      if (!FIELDS.includes(field)) continue;
      expect({ field, written: norm(field, v) }).toEqual({ field, written: norm(field, m.latest[field]) });
    }
  }
  toString = () => 'batch leaves';
}

/** The batch lands: the record takes the values, they are held, and the entry is acknowledged. */
class BatchLands implements fc.Command<Model, System> {
  constructor(readonly ok: boolean) {}
  check = () => true;
  run(_m: Model, s: System): void {
    if (!s.inFlight) return;
    const { update, version } = s.inFlight;
    s.inFlight = null;
    if (!this.ok) {
      // A passing failure: the entry waits for another try (unless a newer plan already replaced it).
      s.pending ??= { update, version };
      return;
    }
    s.record = { ...s.record, ...update.smk };
    s.held = { ...s.held, ...update.smk };
    // Acknowledged at its version: a newer plan that arrived meanwhile stays pending.
    if (s.pending && s.pending.version === version) s.pending = null;
  }
  toString = () => (this.ok ? 'batch lands' : 'batch fails');
}

/** The record is read (a poll, the echo of a write): what it holds is known again. */
class Read implements fc.Command<Model, System> {
  check = () => true;
  run(_m: Model, s: System): void {
    // A read that completes before an in-flight batch lands sees the old values; the landing then
    // merges what it wrote (HeldStore keeps a write over a read that began before it).
    s.held = { ...s.record };
  }
  toString = () => 'read';
}

/** Someone edits an smk field in the CRM by hand. */
class HandEdit implements fc.Command<Model, System> {
  constructor(readonly field: Field, readonly value: string | null) {}
  check = () => true;
  run(_m: Model, s: System): void {
    s.record = { ...s.record, [this.field]: this.value };
  }
  toString = () => `hand edit ${this.field}=${JSON.stringify(this.value)}`;
}

const desiredArb = fc.record(
  Object.fromEntries(FIELDS.map((f) => [f, fc.constantFrom(...VALUES[f])])) as Record<Field, fc.Arbitrary<string | null>>,
  { requiredKeys: [] },
);

const commands = fc.commands([
  desiredArb.map((d) => new Evaluate(d)),
  fc.constant(new BatchLeaves()),
  fc.boolean().map((ok) => new BatchLands(ok)),
  fc.constant(new Read()),
  fc.constantFrom(...FIELDS).chain((f) => fc.constantFrom(...VALUES[f]).map((v) => new HandEdit(f, v))),
], { maxCommands: 40 });

/** Drains: the last plan again, batches out until nothing is pending, and the CRM holds what is desired. */
function drainAndCheck(m: Model, s: System): void {
  new Read().run(m, s);
  const full = Object.fromEntries(FIELDS.map((f) => [f, m.latest[f] ?? null])) as SmkValues;
  m.latest = { ...full } as Model['latest'];
  for (let i = 0; i < 5 && (s.pending || s.inFlight || i === 0); i += 1) {
    new BatchLands(true).run(m, s);
    new Read().run(m, s);
    new Evaluate(full as Partial<Record<Field, string | null>>).run(m, s);
    new BatchLeaves().run(m, s);
  }
  new BatchLands(true).run(m, s);
  expect(s.pending).toBeNull();
  for (const f of FIELDS) {
    if (!writesTo(SMK_FIELD_BY_KEY.get(f)!, s.crm)) continue;
    expect({ f, holds: norm(f, s.record[f]) }).toEqual({ f, holds: norm(f, full[f]) });
  }
  // Quiet: read back, planned again, nothing to write.
  new Read().run(m, s);
  expect(plan(s, full)).toBeNull();
}

describe('write planning under generated plan sequences (in-process)', () => {
  it('never writes a value superseded before its batch left, and drains to the desired values', () => {
    fc.assert(
      fc.property(fc.constantFrom<CrmName>('hubspot', 'salesforce'), commands, (crm, cmds) => {
        const model: Model = { crm, latest: {} };
        const system: System = { crm, record: {}, held: {}, pending: null, inFlight: null, left: [] };
        fc.modelRun(() => ({ model, real: system }), cmds);
        drainAndCheck(model, system);
      }),
      modelParameters('write planning', 2000),
    );
  });

  it('A -> B -> A before the batch leaves writes A or nothing, never B (the shrunk shape of issue 14)', () => {
    const model: Model = { crm: 'hubspot', latest: {} };
    const s: System = { crm: 'hubspot', record: { score: '17' }, held: { score: '17' }, pending: null, inFlight: null, left: [] };
    new Evaluate({ score: '42' }).run(model, s);
    new Evaluate({ score: '17.0' }).run(model, s);
    new BatchLeaves().run(model, s);
    new BatchLands(true).run(model, s);
    expect(s.left.flatMap((b) => (b.values.score !== undefined ? [norm('score', b.values.score)] : []))).not.toContain('42');
    expect(norm('score', s.record.score)).toBe('17');
  });
});
