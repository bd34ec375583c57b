/**
 * The benchmark's smarketing.yaml: the example file's scoring (so the rules are the realistic ones
 * a RevOps admin starts from), the product's defaults elsewhere, and the sync settings the bench
 * varies. The "rule change" of phase 4 adds one fit rule that holds for about a tenth of people
 * (two of the seed's twenty countries).
 */

export interface BenchSyncSettings {
  /** HubSpot rate limit the gate keeps to (the sandbox's, or effectively none). */
  hubspotPerTenSeconds: number;
  batchWait: string;
  searchSafetyMargin: string;
  pollEvery: string;
  /** Read HubSpot deals (sync.deals). */
  deals?: boolean;
  /**
   * Salesforce Bulk API 2.0 (bench `--bulk-threshold`): writes above this many records by one
   * ingest job, full reads of a stream above it (2,000 at least) by one query job. Off by default:
   * both thresholds null, so the figures compare with earlier runs.
   */
  bulkThreshold?: number | null;
}

const FIT = `
  fit:
    - { field: person.title, matches: "\\\\b(vp|vice president|director|head|chief|c[eotf]o|founder)\\\\b", points: 20, reason: Senior title }
    - { field: person.title, matches: "\\\\b(manager|lead)\\\\b", points: 10, reason: Manager title }
    - { field: company.employees, gte: 200, points: 15, reason: 200+ employees }
    - { field: company.employees, gte: 20, lte: 199, points: 5, reason: 20-199 employees }
    - { field: company.industry, in: [Software, Financial Services, Healthcare], points: 10, reason: Target industry }
    - { field: person.country, in: [US, CA, GB, DE, FR], points: 5, reason: Core market }
    - { field: email, freemail: true, points: -15, reason: Personal email }
    - { field: company.name, missing: true, points: -5, reason: No company }`;

/** The phase-4 rule change: one more fit rule (JP and AU: 2 of the seed's 20 places). */
const RULE_CHANGE = `
    - { field: person.country, in: [JP, AU], points: 5, reason: APAC focus }`;

export const SENIOR_TITLE = /\b(vp|vice president|director|head|chief|c[eotf]o|founder)\b/i;
export const MANAGER_TITLE = /\b(manager|lead)\b/i;

function bulkLines(threshold: number | null): string {
  if (threshold === null) return '  bulkThreshold: null\n  bulkQueryThreshold: null\n';
  return `  bulkThreshold: ${threshold}\n  bulkQueryThreshold: ${Math.max(2000, threshold)}\n  bulkPollEvery: 1s\n`;
}

export function benchConfigYaml(sync: BenchSyncSettings, options: { ruleChange?: boolean } = {}): string {
  return `# Written by bench/run.ts for one benchmark run.
scoring:${FIT}${options.ruleChange ? RULE_CHANGE : ''}
  engagement:
    halfLifeDays: 30
    quantiseDays: 1
    maxAgeDays: 365
  grades: { hot: 80, warm: 50 }
sync:
  pollEvery: ${sync.pollEvery}
${sync.deals ? '  deals: true\n' : ''}  batchWait: ${sync.batchWait}
  searchSafetyMargin: ${sync.searchSafetyMargin}
${bulkLines(sync.bulkThreshold ?? null)}  jobLock: 30s
  writeLease: 2m
  budget:
    hubspot: { share: 1, perTenSeconds: ${sync.hubspotPerTenSeconds} }
    salesforce: { share: 1 }
`;
}
