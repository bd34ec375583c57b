/** `smk errors`: list, retry and export the sync-errors report. */
import { bootstrap } from '../../jobs/bootstrap.js';
import { enqueueEvaluate } from '../../jobs/enqueue.js';
import { syncErrorsToCsv } from '../store/sync-errors.js';
import type { CrmName } from '../model/lead.js';

export async function runErrors(options: { configPath?: string; action: 'list' | 'retry' | 'export'; crm?: string; limit?: number; id?: string; all?: boolean }): Promise<void> {
  if (options.crm !== undefined && options.crm !== 'hubspot' && options.crm !== 'salesforce') {
    throw new Error(`--crm must be hubspot or salesforce, got "${options.crm}"`);
  }
  const runtime = await bootstrap({ configPath: options.configPath });
  const { errors } = runtime.ctx;
  try {
    if (options.action === 'export') {
      const { errors: all } = await errors.list({ limit: Number.MAX_SAFE_INTEGER });
      process.stdout.write(syncErrorsToCsv(all));
      return;
    }
    if (options.action === 'retry') {
      if (!options.id && !options.all) throw new Error('name an error id (see `smk errors list`) or pass --all');
      const targets = options.all ? (await errors.list({ limit: Number.MAX_SAFE_INTEGER })).errors : [await errors.get(options.id as string)].filter((e) => e !== null);
      if (targets.length === 0) throw new Error(`no sync error with id "${options.id}"`);
      const leads = targets.flatMap((e) => (e.leadId ? [e.leadId] : []));
      await enqueueEvaluate(runtime.ctx, leads, 'retry from smk errors');
      await errors.remove(targets.map((e) => e.id));
      process.stdout.write(`queued ${leads.length} lead(s) for another try; run \`smk sync --once\` or keep \`smk start\` running\n`);
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
