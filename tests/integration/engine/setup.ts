/**
 * The engine tests' world: both sandboxes, a real Redis under the test's own prefix, the fields
 * provisioned, and one orderly sync done (both CRMs read before anyone is evaluated), so that each
 * test starts from a settled state and drives the jobs itself.
 */
import { fastSyncConfig, startHarness } from '../../helpers/pipeline.js';
import type { Harness } from '../../helpers/pipeline.js';
import { syncInPhases } from '../../reliability/helpers/phased-sync.js';

/** Short waits, no search margin, nobody created in the other CRM (the tests create what they need). */
export const ENGINE_CONFIG = fastSyncConfig('create: { salesforce: never, hubspot: never }');

export async function syncedHarness(options: { people: number; seed: number; label: string; controllableClock?: boolean }): Promise<Harness> {
  const h = await startHarness({ ...options, configYaml: ENGINE_CONFIG });
  for (const crm of ['hubspot', 'salesforce'] as const) await h.runtime.ctx.connectors[crm].ensureSchema();
  await syncInPhases(h.runtime.ctx);
  return h;
}
