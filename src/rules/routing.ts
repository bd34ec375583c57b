/**
 * Handoff routing: who owns a new MQL. The owner of the matching Account first, then the owner of
 * the existing Salesforce record, then a pool chosen by rules (country, industry, size, source...)
 * with smooth weighted round-robin, the algorithm nginx uses: over any run of picks each owner's
 * share follows the weights exactly, and picks of one owner are spread out rather than bunched.
 * Owners marked away and owners at their cap of open leads are skipped. The state (round-robin
 * weights, open counts) is passed in and a new one returned, so routing stays a pure function.
 */
import type { Lead } from '../model/lead.js';
import { compileCondition } from './conditions.js';
import type { LeadPredicate } from './conditions.js';
import type { PoolConfig, RoutingConfig } from './config.js';

export interface PoolState {
  /** Smooth weighted round-robin: the current weight of each owner, per pool. */
  wrr: Record<string, Record<string, number>>;
  /** Open leads per owner, counted against member caps. */
  open: Record<string, number>;
  /**
   * Reps away today (time off: src/rules/availability.ts), skipped like a member marked away.
   * Passed in for the decision, never stored: tomorrow's list is another.
   */
  away?: readonly string[];
}

export function emptyPoolState(): PoolState {
  return { wrr: {}, open: {} };
}

export interface RouteContext {
  /** Owner of the Salesforce Account that matches the lead's company. */
  accountOwnerId?: string | null;
  /** Owner of the lead's existing Salesforce record. */
  existingOwnerId?: string | null;
}

export type RouteVia = 'account' | 'existing' | 'pool' | 'none';

export interface RouteResult {
  /** null when no owner is available; the reason says why. */
  ownerId: string | null;
  pool: string | null;
  via: RouteVia;
  reason: string;
  nextPoolState: PoolState;
}

interface CompiledRouting {
  rules: Array<{ test: LeadPredicate; pool: string }>;
  away: ReadonlySet<string>;
  ignored: ReadonlySet<string>;
}

const compiledByConfig = new WeakMap<RoutingConfig, CompiledRouting>();

function compiledRouting(config: RoutingConfig): CompiledRouting {
  let compiled = compiledByConfig.get(config);
  if (compiled === undefined) {
    const away = new Set<string>();
    for (const pool of Object.values(config.pools)) {
      for (const member of pool.members) if (member.away) away.add(member.owner);
    }
    compiled = {
      rules: config.rules.map((rule) => {
        const tests = [rule.when, ...(rule.and ?? [])].map((condition) => compileCondition(condition));
        return { test: (lead: Lead) => tests.every((test) => test(lead)), pool: rule.pool };
      }),
      away,
      ignored: new Set(config.ignoreOwners),
    };
    compiledByConfig.set(config, compiled);
  }
  return compiled;
}

function countOf(record: Record<string, number> | undefined, key: string): number {
  if (record === undefined || !Object.hasOwn(record, key)) return 0;
  const value = record[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function normalise(state: PoolState | null | undefined): PoolState {
  return { wrr: state?.wrr ?? {}, open: state?.open ?? {}, ...(state?.away ? { away: state.away } : {}) };
}

function withOpen(state: PoolState, ownerId: string, delta: number): PoolState {
  // A computed key in a literal defines an own property, so even an odd id cannot touch a prototype.
  return { ...state, open: { ...state.open, [ownerId]: Math.max(0, countOf(state.open, ownerId) + delta) } };
}

function awayToday(state: PoolState, ownerId: string): boolean {
  return state.away?.includes(ownerId) ?? false;
}

/** The pool for a lead: the first rule that matches, else the default pool. */
export function selectPool(lead: Lead, config: RoutingConfig): { pool: string | null; reason: string } {
  const compiled = compiledRouting(config);
  for (const [index, rule] of compiled.rules.entries()) {
    if (rule.test(lead)) return { pool: rule.pool, reason: `routing rule ${index + 1}` };
  }
  if (config.defaultPool !== undefined) return { pool: config.defaultPool, reason: 'default pool' };
  return { pool: null, reason: 'no routing rule matched and no default pool is set' };
}

export interface PoolPick {
  ownerId: string | null;
  reason: string;
  nextPoolState: PoolState;
}

/** One smooth weighted round-robin pick among the members that are present and under their cap. */
export function pickFromPool(
  poolName: string,
  config: RoutingConfig,
  poolState: PoolState | null | undefined,
  exclude: ReadonlySet<string> = new Set(),
): PoolPick {
  const state = normalise(poolState);
  const pool: PoolConfig | undefined = Object.hasOwn(config.pools, poolName) ? config.pools[poolName] : undefined;
  if (pool === undefined) return { ownerId: null, reason: `pool "${poolName}" is not configured`, nextPoolState: state };
  const eligible = pool.members.filter(
    (member) =>
      !member.away &&
      !awayToday(state, member.owner) &&
      !exclude.has(member.owner) &&
      (member.cap === undefined || countOf(state.open, member.owner) < member.cap),
  );
  if (eligible.length === 0) {
    return {
      ownerId: null,
      reason: `no owner available in pool "${poolName}" (all away, at their cap or excluded)`,
      nextPoolState: state,
    };
  }
  const before = Object.hasOwn(state.wrr, poolName) ? state.wrr[poolName] : undefined;
  const current: Record<string, number> = { ...before };
  let total = 0;
  let best: string | null = null;
  let bestWeight = Number.NEGATIVE_INFINITY;
  // Members that are skipped keep their weight untouched, as nginx does for a peer that is down.
  for (const member of eligible) {
    const weight = countOf(before, member.owner) + member.weight;
    current[member.owner] = weight;
    total += member.weight;
    if (weight > bestWeight) {
      best = member.owner;
      bestWeight = weight;
    }
  }
  const ownerId = best as string;
  current[ownerId] = bestWeight - total;
  const next = withOpen({ ...state, wrr: { ...state.wrr, [poolName]: current } }, ownerId, 1);
  return { ownerId, reason: `round-robin in pool "${poolName}"`, nextPoolState: next };
}

function personOwner(id: string | null | undefined, compiled: CompiledRouting): id is string {
  // Salesforce queue ids start with 00G: a queue is not a rep who can be handed a lead.
  return typeof id === 'string' && id.trim() !== '' && !id.startsWith('00G') && !compiled.ignored.has(id);
}

/** Which account matched and why (src/sync/account-match.ts): the Salesforce Account's, else the HubSpot company's. */
function withAccountReason(lead: Lead, why: string): string {
  const match = lead.account?.salesforce?.ownerId ? lead.account.salesforce : (lead.account?.hubspot ?? lead.account?.salesforce);
  return match ? `${why}: ${match.reason}` : why;
}

/** Chooses the owner of a lead at handoff. Never throws: no owner is an outcome with a reason. */
export function routeLead(
  lead: Lead,
  config: RoutingConfig,
  poolState: PoolState | null | undefined,
  context: RouteContext = {},
): RouteResult {
  const compiled = compiledRouting(config);
  const state = normalise(poolState);
  const notes: string[] = [];
  const direct: Array<[RouteVia, string | null | undefined, boolean, string]> = [
    ['account', context.accountOwnerId, config.useAccountOwner, 'owner of the matching account'],
    ['existing', context.existingOwnerId, config.useExistingOwner, 'owner of the existing record'],
  ];
  for (const [via, id, enabled, why] of direct) {
    if (!enabled || !personOwner(id, compiled)) continue;
    if (compiled.away.has(id) || awayToday(state, id)) {
      notes.push(`${why} is away`);
      continue;
    }
    return { ownerId: id, pool: null, via, reason: via === 'account' ? withAccountReason(lead, why) : why, nextPoolState: withOpen(state, id, 1) };
  }
  const selected = selectPool(lead, config);
  const prefix = notes.length > 0 ? `${notes.join('; ')}; ` : '';
  if (selected.pool === null) {
    return { ownerId: null, pool: null, via: 'none', reason: `${prefix}${selected.reason}`, nextPoolState: state };
  }
  const pick = pickFromPool(selected.pool, config, state);
  return {
    ownerId: pick.ownerId,
    pool: selected.pool,
    via: pick.ownerId === null ? 'none' : 'pool',
    reason: `${prefix}${selected.reason}: ${pick.reason}`,
    nextPoolState: pick.nextPoolState,
  };
}

/**
 * The next owner when an SLA breach escalates by reassignment: the lead's pool, skipping the
 * current owner. The current owner's open count is released when another owner takes the lead.
 */
export function nextOwnerForEscalation(
  lead: Lead,
  config: RoutingConfig,
  poolState: PoolState | null | undefined,
  currentOwnerId: string | null | undefined,
): RouteResult {
  const state = normalise(poolState);
  const selected = selectPool(lead, config);
  if (selected.pool === null) {
    return { ownerId: null, pool: null, via: 'none', reason: selected.reason, nextPoolState: state };
  }
  const exclude = new Set<string>(typeof currentOwnerId === 'string' ? [currentOwnerId] : []);
  const pick = pickFromPool(selected.pool, config, state, exclude);
  if (pick.ownerId === null) {
    return { ownerId: null, pool: selected.pool, via: 'none', reason: pick.reason, nextPoolState: state };
  }
  const released =
    typeof currentOwnerId === 'string' ? withOpen(pick.nextPoolState, currentOwnerId, -1) : pick.nextPoolState;
  return {
    ownerId: pick.ownerId,
    pool: selected.pool,
    via: 'pool',
    reason: `SLA escalation: ${pick.reason}`,
    nextPoolState: released,
  };
}

/** Releases one open lead of an owner (the lead left the owner's queue: converted, closed, recycled). */
export function releaseOwner(poolState: PoolState | null | undefined, ownerId: string): PoolState {
  return withOpen(normalise(poolState), ownerId, -1);
}

/**
 * Whether a lead counts against its owner's cap, and since when: handed off (an MQL waiting for the
 * rep) and not yet accepted (SAL), converted (SQL and on), recycled or disqualified.
 */
export function openLeadHolding(lead: Lead): { ownerId: string; since: string } | null {
  const ownerId = lead.sales?.ownerId;
  const since = lead.sla?.handoffAt ?? lead.sla?.startedAt;
  if (lead.stage?.current !== 'mql' || !ownerId || !since) return null;
  return { ownerId, since };
}

/**
 * The capped owners' open-lead counts (`PoolState.open`) once a decision took a lead from `before`
 * to `after`, as the open-lead index will count it: a routing round deciding several leads in turn
 * gives each the counts the ones before it left. Only owners already in `open` (the capped ones)
 * are counted, and only leads handed off at or after `sinceMs` (routing.capWindowDays; null: all).
 */
export function openCountsAfter(open: Readonly<Record<string, number>>, before: Lead, after: Lead, sinceMs: number | null): Record<string, number> {
  const out = { ...open };
  const was = openLeadHolding(before);
  const now = openLeadHolding(after);
  if (was?.ownerId === now?.ownerId && was?.since === now?.since) return out;
  const counted = (holding: { ownerId: string; since: string } | null): holding is { ownerId: string; since: string } => {
    if (!holding || !Object.hasOwn(out, holding.ownerId)) return false;
    const at = Date.parse(holding.since);
    return sinceMs === null || (Number.isFinite(at) ? at : 0) >= sinceMs;
  };
  if (counted(was)) out[was.ownerId] = (out[was.ownerId] ?? 0) - 1;
  if (counted(now)) out[now.ownerId] = (out[now.ownerId] ?? 0) + 1;
  return out;
}

/** Every owner a member cap applies to. */
export function cappedOwners(config: RoutingConfig): string[] {
  const owners = new Set<string>();
  for (const pool of Object.values(config.pools)) for (const member of pool.members) if (member.cap !== undefined) owners.add(member.owner);
  return [...owners].sort();
}
