/** `smk errors`: list, retry and export the sync-errors report. */
import { bootstrap } from '../../jobs/bootstrap.js';
import { retrySyncErrors } from '../../jobs/retry.js';
import { syncErrorsCsvChunks } from '../store/sync-errors.js';
import type { CrmName } from '../model/lead.js';

export async function runErrors(options: { configPath?: string; action: 'list' | 'retry' | 'export'; crm?: string; limit?: number; id?: string; all?: boolean }): Promise<void> {
  if (options.crm !== undefined && options.crm !== 'hubspot' && options.crm !== 'salesforce') {
    throw new Error(`--crm must be hubspot or salesforce, got "${options.crm}"`);
  }
  const runtime = await bootstrap({ configPath: options.configPath });
  const { errors } = runtime.ctx;
  try {
    if (options.action === 'export') {
      for await (const chunk of syncErrorsCsvChunks(errors.pages())) process.stdout.write(chunk);
      return;
    }
    if (options.action === 'retry') {
      if (!options.id && !options.all) throw new Error('name an error id (see `smk errors list`) or pass --all');
      const targets = options.all ? await errors.all() : [await errors.get(options.id as string)].filter((e) => e !== null);
      if (targets.length === 0) throw new Error(options.all ? 'there are no sync errors to retry' : `no sync error with id "${options.id}"`);
      // Records are read again here and now; evaluations and polls go to the workers.
      const outcome = await retrySyncErrors(runtime.ctx, targets, { inline: true });
      const { queued } = outcome;
      process.stdout.write(`retried ${targets.length} error(s): read ${queued.rereads} record(s) again; queued ${queued.evaluations} lead(s) to evaluate and ${queued.polls} CRM poll(s)${queued.evaluations + queued.polls > 0 ? ' (run `smk sync --once` or keep `smk start` running)' : ''}\n`);
      for (const e of outcome.stillTrue) {
        process.stdout.write(`still true, kept in the report: ${e.crm} ${e.object ?? ''} ${e.recordId ?? ''}: ${e.code}: ${e.message}\n`);
      }
      if (outcome.stillTrue.length > 0) process.exitCode = 1;
      return;
    }
    const { total, errors: list } = await errors.list({ limit: options.limit ?? 50, crm: options.crm as CrmName | undefined });
    if (total === 0) {
      process.stdout.write('no sync errors\n');
      return;
    }
    for (const e of list) {
      process.stdout.write(`${e.id}\n  ${e.crm} ${e.object ?? ''} ${e.recordId ?? ''} lead ${e.leadId ?? '-'}: ${e.code}${e.field ? ` on ${e.field}` : ''}: ${e.message} (seen ${e.attempts}x, last ${e.lastSeen})\n`);
    }
    if (total > list.length) process.stdout.write(`... and ${total - list.length} more (use --limit)\n`);
  } finally {
    await runtime.close();
  }
}
