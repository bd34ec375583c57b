/**
 * The rules sections of smarketing.yaml (scoring, stages, routing, sla, targets), validated by
 * zod. Every key has a default, so an empty file yields a working rule set. The schema holds plain
 * data only (no transforms), so it can also be rendered as JSON Schema; compiled forms (regexes,
 * calendars, lookup maps) are built once per parsed config object by the modules that use them.
 *
 * Custom checks carry a full sentence, because the config loader prints each issue as
 * `path: message`, e.g. `scoring.fit[2].matches: invalid regular expression "(": Unterminated group`.
 */
import { z } from 'zod';
import { ENGAGEMENT_KINDS, engagementKindSchema } from '../model/lead.js';
import { isValidLocalDate, isValidTimeZone, parseHours, parseWeekdays } from './business-time.js';
import { CONDITION_OPERATORS, regexError } from './conditions.js';
import type { ConditionInput } from './conditions.js';
import { durationError, durationToMs, parseDuration } from './duration.js';
import { checkLeadPath } from './lead-path.js';

/** Keys that would reach an object's prototype machinery: refused as names and as config keys. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const label = z.string().trim().min(1).max(100);

const leadField = z.string().superRefine((path, ctx) => {
  const check = checkLeadPath(path);
  if (!check.ok) ctx.addIssue({ code: 'custom', message: check.message, input: path });
});

const conditionFields = {
  field: leadField,
  equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
  in: z.array(z.union([z.string(), z.number()])).min(1).optional(),
  matches: z.string().min(1).max(500).optional(),
  gte: z.number().finite().optional(),
  lte: z.number().finite().optional(),
  freemail: z.boolean().optional(),
  missing: z.boolean().optional(),
};

function refineCondition(value: ConditionInput, ctx: z.RefinementCtx): void {
  const used = CONDITION_OPERATORS.filter((op) => value[op] !== undefined);
  if (used.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `the condition on "${value.field}" needs one of: ${CONDITION_OPERATORS.join(', ')}`,
    });
  }
  if (value.matches !== undefined) {
    const problem = regexError(value.matches);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['matches'], message: problem, input: value.matches });
  }
  if (value.gte !== undefined && value.lte !== undefined && value.gte > value.lte) {
    ctx.addIssue({
      code: 'custom',
      path: ['gte'],
      message: `gte ${value.gte} is greater than lte ${value.lte}, so the range matches nothing`,
    });
  }
  const check = checkLeadPath(value.field);
  if (check.ok && check.kind === 'array' && used.some((op) => op !== 'missing')) {
    ctx.addIssue({ code: 'custom', path: ['field'], message: `"${value.field}" is a list: only missing applies to it` });
  }
}

export const conditionSchema = z.strictObject(conditionFields).superRefine(refineCondition);

// ---------------------------------------------------------------------------------------------
// scoring

export const fitRuleSchema = z
  .strictObject({ ...conditionFields, points: z.number().int(), reason: label })
  .superRefine(refineCondition);

const engagementRuleSchema = z.strictObject({
  kind: engagementKindSchema,
  points: z.number().int(),
  /** Upper bound of this kind's decayed points (of their magnitude, for negative points). */
  cap: z.number().int().positive().optional(),
  reason: label.optional(),
});

const DEFAULT_FIT: z.input<typeof fitRuleSchema>[] = [
  {
    field: 'person.title',
    matches: '\\b(vp|vice president|director|head|chief|c[eotf]o|founder)\\b',
    points: 20,
    reason: 'Senior title',
  },
  { field: 'company.employees', gte: 200, points: 15, reason: '200+ employees' },
  { field: 'email', freemail: true, points: -15, reason: 'Personal email' },
];

const DEFAULT_EVENTS: z.input<typeof engagementRuleSchema>[] = [
  { kind: 'demo_request', points: 30, cap: 30 },
  { kind: 'meeting', points: 25, cap: 25 },
  { kind: 'form_submission', points: 15, cap: 45 },
  { kind: 'conversion', points: 15, cap: 30 },
  { kind: 'call', points: 10, cap: 20 },
  { kind: 'sales_email', points: 3, cap: 9 },
  { kind: 'email_click', points: 5, cap: 15 },
  { kind: 'visit', points: 2, cap: 10 },
  { kind: 'email_open', points: 1, cap: 5 },
  { kind: 'page_view', points: 1, cap: 20 },
];

const engagementSchema = z
  .strictObject({
    halfLifeDays: z.number().positive().max(3650).default(30),
    /** Ages are counted in whole steps of this many days, so scores change only at day boundaries. */
    quantiseDays: z.number().int().min(1).max(365).default(1),
    /** Events older than this are ignored altogether. */
    maxAgeDays: z.number().int().positive().optional(),
    events: z.array(engagementRuleSchema).prefault(DEFAULT_EVENTS),
  })
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.events.forEach((event, index) => {
      if (seen.has(event.kind)) {
        ctx.addIssue({
          code: 'custom',
          path: ['events', index, 'kind'],
          message: `"${event.kind}" is listed twice; give each kind one rule (known kinds: ${ENGAGEMENT_KINDS.join(', ')})`,
        });
      }
      seen.add(event.kind);
    });
  });

const domainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'expected a domain such as example.com');

export const scoringSchema = z
  .strictObject({
    fit: z.array(fitRuleSchema).prefault(DEFAULT_FIT),
    engagement: engagementSchema.prefault({}),
    grades: z.strictObject({ hot: z.number().default(80), warm: z.number().default(50) }).prefault({}),
    bounds: z.strictObject({ min: z.number().default(0), max: z.number().default(100) }).prefault({}),
    /** How many reasons are kept (the 255-character text may hold fewer). */
    topReasons: z.number().int().min(1).max(20).default(5),
    /** Extra free-mail domains on top of the built-in list. */
    freemailDomains: z.array(domainSchema).default([]),
  })
  .superRefine((value, ctx) => {
    const { grades, bounds } = value;
    if (bounds.min >= bounds.max) {
      ctx.addIssue({ code: 'custom', path: ['bounds'], message: `min ${bounds.min} must be below max ${bounds.max}` });
    }
    if (grades.hot <= grades.warm) {
      ctx.addIssue({ code: 'custom', path: ['grades'], message: `hot (${grades.hot}) must be above warm (${grades.warm})` });
    }
    if (grades.hot > bounds.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['grades', 'hot'],
        message: `hot (${grades.hot}) is above bounds.max (${bounds.max}), so no lead could ever be hot`,
      });
    }
  });

// ---------------------------------------------------------------------------------------------
// stages

/** What a Salesforce lead status means here: a stage, or only a touch that meets the SLA. */
export const STATUS_EFFECTS = ['touch', 'sal', 'sql', 'opportunity', 'customer', 'recycled', 'disqualified'] as const;

const reasonCode = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a reason code of letters, digits, -, _ or . such as no-budget');

const reasonSchema = z.strictObject({ code: reasonCode, label: label.optional() });
const rejectReasonSchema = z.strictObject({
  code: reasonCode,
  label: label.optional(),
  /** Where a lead rejected for this reason goes. */
  then: z.enum(['recycled', 'disqualified']).default('recycled'),
  /**
   * Days a lead recycled for this reason stays recycled before new engagement can make it an MQL
   * again (0: at the next engagement). "Bad timing" means "not now": not 90 minutes later.
   */
  cooldownDays: z.number().int().min(0).max(3650).default(0),
});

function uniqueCodes(list: ReadonlyArray<{ code: string }>, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  list.forEach((item, index) => {
    const key = item.code.toLowerCase();
    if (seen.has(key)) {
      ctx.addIssue({ code: 'custom', path: [index, 'code'], message: `reason code "${item.code}" is listed twice` });
    }
    seen.add(key);
  });
}

const DEFAULT_STATUS_MAP: Record<string, (typeof STATUS_EFFECTS)[number]> = {
  'Working - Contacted': 'touch',
  Accepted: 'sal',
  Qualified: 'sql',
  'Closed - Converted': 'sql',
  'Closed - Not Converted': 'disqualified',
  Nurture: 'recycled',
};

const DEFAULT_REJECT_REASONS: z.input<typeof rejectReasonSchema>[] = [
  { code: 'no-budget', label: 'No budget', then: 'recycled' },
  { code: 'bad-timing', label: 'Bad timing', then: 'recycled', cooldownDays: 30 },
  { code: 'no-response', label: 'No response', then: 'recycled' },
  { code: 'not-a-fit', label: 'Not a fit', then: 'disqualified' },
  { code: 'duplicate', label: 'Duplicate', then: 'disqualified' },
  { code: 'competitor', label: 'Competitor', then: 'disqualified' },
];

const DEFAULT_DISQUALIFY_REASONS: z.input<typeof reasonSchema>[] = [
  { code: 'not-a-fit', label: 'Not a fit' },
  { code: 'duplicate', label: 'Duplicate' },
  { code: 'competitor', label: 'Competitor' },
  { code: 'spam', label: 'Spam or fake' },
  { code: 'student', label: 'Student or job seeker' },
];

export const stagesSchema = z
  .strictObject({
    mql: z.strictObject({ minTotal: z.number().default(60), minFit: z.number().default(20) }).prefault({}),
    /** Days in MQL or SAL without a stage change before the lead is recycled; null disables. */
    recycleAfterDays: z.number().int().positive().nullable().default(90),
    /** Salesforce lead status (matched case-insensitively) to its effect. Replaces the defaults. */
    salesforceStatus: z.record(z.string().trim().min(1), z.enum(STATUS_EFFECTS)).prefault(DEFAULT_STATUS_MAP),
    rejectReasons: z.array(rejectReasonSchema).prefault(DEFAULT_REJECT_REASONS).superRefine(uniqueCodes),
    /** Where a rejection with a reason that is not in the list goes (the reason is also flagged). */
    unknownRejectReason: z.enum(['recycled', 'disqualified']).default('recycled'),
    disqualify: z
      .strictObject({ reasons: z.array(reasonSchema).prefault(DEFAULT_DISQUALIFY_REASONS).superRefine(uniqueCodes) })
      .prefault({}),
    /** A lost opportunity sends the person back to marketing, or leaves the stage at opportunity. */
    opportunityLost: z.enum(['recycled', 'opportunity']).default('recycled'),
  })
  .superRefine((value, ctx) => {
    const seen = new Map<string, string>();
    for (const status of Object.keys(value.salesforceStatus)) {
      const key = status.trim().toLowerCase();
      const other = seen.get(key);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['salesforceStatus', status],
          message: `status "${status}" is listed twice (also as "${other}"); statuses match case-insensitively`,
        });
      }
      seen.set(key, status);
    }
  });

// ---------------------------------------------------------------------------------------------
// routing

const ownerId = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .refine((id) => !RESERVED_KEYS.has(id), { message: 'this owner id is a reserved word' });

const poolName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a pool name of letters, digits, -, _ or .')
  .refine((name) => !RESERVED_KEYS.has(name), { message: 'this pool name is a reserved word' });

const poolMemberSchema = z.strictObject({
  owner: ownerId,
  weight: z.number().int().positive().default(1),
  /** Most open leads this owner holds at once (see capWindowDays); no cap when absent. */
  cap: z.number().int().positive().optional(),
  /** An owner marked away is skipped until the flag is removed. */
  away: z.boolean().default(false),
});

const poolSchema = z
  .strictObject({
    strategy: z.literal('weighted-round-robin').default('weighted-round-robin'),
    members: z.array(poolMemberSchema).min(1),
  })
  .superRefine((pool, ctx) => {
    const seen = new Set<string>();
    pool.members.forEach((member, index) => {
      if (seen.has(member.owner)) {
        ctx.addIssue({ code: 'custom', path: ['members', index, 'owner'], message: `owner "${member.owner}" is listed twice` });
      }
      seen.add(member.owner);
    });
  });

const routingRuleSchema = z.strictObject({
  when: conditionSchema,
  /** Further conditions that must also hold. */
  and: z.array(conditionSchema).optional(),
  pool: poolName,
});

export const routingSchema = z
  .strictObject({
    rules: z.array(routingRuleSchema).default([]),
    pools: z.record(poolName, poolSchema).default({}),
    defaultPool: poolName.optional(),
    /** The owner of the matching Salesforce Account takes the lead first. */
    useAccountOwner: z.boolean().default(true),
    /** On a first handoff, the owner of the existing Salesforce record keeps the lead. */
    useExistingOwner: z.boolean().default(true),
    /** Owners that never count as a person (integration users); Salesforce queues (00G...) never do. */
    ignoreOwners: z.array(ownerId).default([]),
    /**
     * Member caps count the owner's open leads (handed off, not yet accepted, converted, recycled or
     * disqualified) handed off within this many days; null counts every open lead however old.
     */
    capWindowDays: z.number().int().min(1).max(3650).nullable().default(30),
  })
  .superRefine((value, ctx) => {
    const known = Object.keys(value.pools);
    const describe = known.length === 0 ? 'no pools are defined' : `known pools: ${known.join(', ')}`;
    value.rules.forEach((rule, index) => {
      if (!Object.hasOwn(value.pools, rule.pool)) {
        ctx.addIssue({ code: 'custom', path: ['rules', index, 'pool'], message: `unknown pool "${rule.pool}" (${describe})` });
      }
    });
    if (value.defaultPool !== undefined && !Object.hasOwn(value.pools, value.defaultPool)) {
      ctx.addIssue({ code: 'custom', path: ['defaultPool'], message: `unknown pool "${value.defaultPool}" (${describe})` });
    }
  });

// ---------------------------------------------------------------------------------------------
// sla

const durationSchema = z.string().superRefine((text, ctx) => {
  if (parseDuration(text) === null) ctx.addIssue({ code: 'custom', message: durationError(text), input: text });
});

const timeZone = z.string().superRefine((tz, ctx) => {
  if (!isValidTimeZone(tz)) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown time zone "${tz}": use an IANA zone such as America/New_York or Europe/Berlin`,
      input: tz,
    });
  }
});

const daysField = z.union([z.string(), z.array(z.string())]).superRefine((days, ctx) => {
  const parsed = parseWeekdays(days);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message, input: days });
});

const hoursField = z.string().superRefine((hours, ctx) => {
  const parsed = parseHours(hours);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message, input: hours });
});

const holidaysField = z.array(
  z.string().refine(isValidLocalDate, { error: (issue) => `invalid holiday "${String(issue.input)}": use yyyy-MM-dd` }),
);

const calendarSchema = z.strictObject({
  tz: timeZone.default('UTC'),
  days: daysField.default('Mon-Fri'),
  hours: hoursField.default('09:00-17:00'),
  holidays: holidaysField.default([]),
});

function totalMinutes(text: string, dayMinutes: number): number {
  const parsed = parseDuration(text);
  return parsed === null ? Number.NaN : parsed.days * dayMinutes + parsed.ms / 60_000;
}

export const slaSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    firstTouch: z
      .strictObject({
        within: durationSchema.default('4h'),
        calendar: calendarSchema.prefault({}),
        /** `team`: the calendar above; `rep`: the owner's own zone, days, hours and time off (reps section). */
        clock: z.enum(['team', 'rep']).default('team'),
      })
      .prefault({}),
    /** Reminders before the due time, in working time: `1h` is one working hour before due. */
    reminders: z.array(durationSchema).default([]),
    escalate: z
      .strictObject({
        /** Working time after the handoff; defaults to the due time. */
        after: durationSchema.optional(),
        action: z.enum(['reassign', 'notify']).default('notify'),
        /** How many times a breached lead escalates (at after, 2 x after, ...). */
        maxTimes: z.number().int().min(1).max(10).default(1),
        /**
         * A rep who breaches `breaches` SLAs within `withinDays` days is marked away for `awayDays`
         * days (from the day of the last breach, in the rep's zone): routing skips them meanwhile.
         */
        markAway: z
          .strictObject({
            breaches: z.number().int().min(1).max(1000),
            withinDays: z.number().int().min(1).max(365).default(7),
            awayDays: z.number().int().min(1).max(90).default(1),
          })
          .optional(),
      })
      .optional(),
  })
  .superRefine((value, ctx) => {
    const hours = parseHours(value.firstTouch.calendar.hours);
    if (!hours.ok) return;
    const dayMinutes = hours.value.reduce((sum, span) => sum + span.end - span.start, 0);
    const within = totalMinutes(value.firstTouch.within, dayMinutes);
    value.reminders.forEach((reminder, index) => {
      if (!(totalMinutes(reminder, dayMinutes) < within)) {
        ctx.addIssue({
          code: 'custom',
          path: ['reminders', index],
          message: `reminder ${reminder} before due must be shorter than firstTouch.within (${value.firstTouch.within})`,
        });
      }
    });
    const after = value.escalate?.after;
    if (after !== undefined && totalMinutes(after, dayMinutes) < within) {
      ctx.addIssue({
        code: 'custom',
        path: ['escalate', 'after'],
        message: `escalate.after (${after}) must not be shorter than firstTouch.within (${value.firstTouch.within}): escalation follows a breach`,
      });
    }
  });

// ---------------------------------------------------------------------------------------------
// reps

const localDate = z.string().refine(isValidLocalDate, { error: (issue) => `invalid date ${JSON.stringify(issue.input)}: use yyyy-MM-dd` });

/** One range of time off, both days included, as local dates in the rep's zone. */
export const timeOffSchema = z
  .strictObject({
    from: localDate,
    to: localDate,
    reason: z.string().trim().max(200).optional(),
  })
  .superRefine((range, ctx) => {
    if (isValidLocalDate(range.from) && isValidLocalDate(range.to) && range.to < range.from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `ends (${range.to}) before it starts (${range.from})` });
    }
  });

/**
 * Per rep (by Salesforce user id): the zone their messages show times in, their working days and
 * hours (the SLA calendar's where unset; used with sla.firstTouch.clock: rep) and their time off.
 */
const repSchema = z.strictObject({
  tz: timeZone.optional(),
  days: daysField.optional(),
  hours: hoursField.optional(),
  holidays: holidaysField.optional(),
  timeOff: z.array(timeOffSchema).default([]),
});

export const repsSchema = z.record(ownerId, repSchema).default({});

// ---------------------------------------------------------------------------------------------
// targets

export const targetsSchema = z.strictObject({
  /** MQLs marketing commits to per calendar month; absent means no target. */
  mqlPerMonth: z.number().int().nonnegative().optional(),
  /** Per-month overrides, keyed yyyy-MM. */
  months: z
    .record(z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a month such as 2026-03'), z.number().int().nonnegative())
    .default({}),
  /** The zone whose calendar months count. */
  tz: timeZone.default('UTC'),
});

// ---------------------------------------------------------------------------------------------
// likelihood: the learned score beside the rules (src/rules/learn)

export const LIKELIHOOD_GRADE_SOURCES = ['rules', 'model', 'blend'] as const;

export const likelihoodSchema = z.strictObject({
  /** What the model predicts: an opportunity opening, or an opportunity being won. */
  target: z.enum(['opportunity', 'won']).default('opportunity'),
  /** Share of the newest outcomes held out to test each model on. */
  holdout: z.number().gt(0).max(0.5).default(0.25),
  /** What the grade follows: the rule score, the published model's likelihood, or a blend of the two. */
  grade: z.enum(LIKELIHOOD_GRADE_SOURCES).default('rules'),
  /** In a blend, the likelihood's share (the rule score has the rest). */
  blend: z.number().min(0).max(1).default(0.5),
  /** Retrain on this schedule (a duration such as 1d or 12h); absent: only on demand. */
  retrainEvery: z
    .string()
    .refine((text) => parseDuration(text) !== null, { error: (issue) => durationError(String(issue.input)) })
    // Each run reads every stored lead and trains anew: hourly is already more than outcomes move.
    .refine((text) => {
      const every = parseDuration(text);
      return every === null || durationToMs(every) >= 3_600_000;
    }, { error: (issue) => `retrainEvery "${String(issue.input)}": retrain at most once an hour (1h or more, such as 1d or 7d)` })
    .optional(),
  /** Publish a retrained model by itself when it passes the checks `smk model publish` makes. */
  autoPublish: z.boolean().default(false),
});
export type LikelihoodConfig = z.infer<typeof likelihoodSchema>;

// ---------------------------------------------------------------------------------------------

/** The rules sections; other top-level keys of smarketing.yaml (sync, mapping, ...) are ignored. */
export const rulesConfigSchema = z.object({
  scoring: scoringSchema.prefault({}),
  stages: stagesSchema.prefault({}),
  routing: routingSchema.prefault({}),
  sla: slaSchema.prefault({}),
  targets: targetsSchema.prefault({}),
  likelihood: likelihoodSchema.prefault({}),
  reps: repsSchema,
});

export type RulesConfig = z.infer<typeof rulesConfigSchema>;
export type RulesConfigInput = z.input<typeof rulesConfigSchema>;
export type ScoringConfig = RulesConfig['scoring'];
export type FitRule = ScoringConfig['fit'][number];
export type EngagementRule = ScoringConfig['engagement']['events'][number];
export type StagesConfig = RulesConfig['stages'];
export type StatusEffect = (typeof STATUS_EFFECTS)[number];
export type RoutingConfig = RulesConfig['routing'];
export type RoutingRule = RoutingConfig['rules'][number];
export type PoolConfig = RoutingConfig['pools'][string];
export type PoolMember = PoolConfig['members'][number];
export type SlaConfig = RulesConfig['sla'];
export type CalendarConfig = SlaConfig['firstTouch']['calendar'];
export type TargetsConfig = RulesConfig['targets'];
export type RepsConfig = RulesConfig['reps'];
export type RepConfig = RepsConfig[string];
export type TimeOff = z.infer<typeof timeOffSchema>;

/**
 * Parses the rules sections of a loaded yaml document; an empty document (null) is the default
 * rule set. Throws the ZodError for the loader to format. Treat the result as immutable: compiled
 * forms are cached per object.
 */
export function parseRulesConfig(document: unknown): RulesConfig {
  return rulesConfigSchema.parse(document ?? {});
}

export function defaultRulesConfig(): RulesConfig {
  return rulesConfigSchema.parse({});
}
