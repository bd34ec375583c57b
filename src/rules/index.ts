/** The shared rules: pure functions of (lead, config, now). No I/O lives below this folder. */
export {
  rulesConfigSchema,
  scoringSchema,
  stagesSchema,
  routingSchema,
  slaSchema,
  targetsSchema,
  STATUS_EFFECTS,
  parseRulesConfig,
  defaultRulesConfig,
} from './config.js';
export type {
  RulesConfig,
  RulesConfigInput,
  ScoringConfig,
  FitRule,
  EngagementRule,
  StagesConfig,
  StatusEffect,
  RoutingConfig,
  RoutingRule,
  PoolConfig,
  PoolMember,
  SlaConfig,
  CalendarConfig,
  TargetsConfig,
} from './config.js';

export { evaluateLead } from './evaluate.js';
export type { EvaluateContext, EvaluateResult, EvaluateOutput, RuleEvent, RuleEventType, OwnerChange, RepTask } from './evaluate.js';

export { scoreLead, gradeFor, joinReasons, REASONS_TEXT_MAX } from './scoring.js';
export type { ScoreResult } from './scoring.js';

export { nextStage, statusEffect, rejectOutcome, stageLabel, HISTORY_LIMIT } from './stages.js';
export type { StageResult, StageScore } from './stages.js';
export { lifecycleFor, planLifecycleWrite, HUBSPOT_LIFECYCLE_ORDER } from './lifecycle.js';
export type { HubspotLifecycle, LifecycleWrite } from './lifecycle.js';

export {
  routeLead,
  nextOwnerForEscalation,
  pickFromPool,
  selectPool,
  releaseOwner,
  emptyPoolState,
} from './routing.js';
export type { PoolState, RouteContext, RouteResult, RouteVia, PoolPick } from './routing.js';

export { addBusinessDuration, businessMsBetween, businessDurationMs, compileCalendar } from './business-time.js';
export type { CalendarInput, BusinessCalendar } from './business-time.js';
export { parseDuration, durationToMs } from './duration.js';
export type { Duration } from './duration.js';

export {
  startSla,
  checkSla,
  slaTouched,
  detectTouch,
  advanceSla,
  reminderTimes,
  escalationAt,
  escalationDecision,
  slaTimers,
  NO_SLA,
} from './sla.js';
export type { SlaTouch, SlaTimers, SlaEvent, SlaEventType, EscalationDecision } from './sla.js';

export { feedbackValues, slaValues, isoOrNull } from './feedback.js';
export type { FeedbackResult, FeedbackKey } from './feedback.js';

export { mqlProgress, mqlDates, countMqlsByMonth, targetFor } from './targets.js';
export type { MqlProgress } from './targets.js';

export { compareRuleSets, ruleSetComparison } from './dry-run.js';
export { backtest, judgeBacktest, MIN_OUTCOMES, MIN_BAND_OUTCOMES } from './backtest.js';
export type { BacktestRow, BacktestOptions, BacktestVerdict } from './backtest.js';
export type { DryRunSummary, DryRunExample, RuleSnapshot, ChangeCount } from './dry-run.js';

export { readLeadPath, checkLeadPath } from './lead-path.js';
export { FREEMAIL_DOMAINS, isFreemail, emailDomain } from './freemail.js';
