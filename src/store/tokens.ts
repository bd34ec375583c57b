/**
 * OAuth tokens kept in Redis, sealed with AES-256-GCM; the CRM name is the authenticated context.
 * Also the lock that lets one worker at a time refresh a CRM's tokens (the connectors'
 * `RefreshLock`): the holder refreshes and stores, the next holder reads the stored result.
 */
import type { RedisClient } from './redis.js';
import { z } from 'zod';
import type { StoredTokens, TokenStore } from '../../connectors/types.js';
import type { CrmName } from '../model/lead.js';
import type { SecretBox } from './crypto.js';
import type { Keys } from './keys.js';
import { Locks } from './locks.js';

/**
 * A worker that died holding the refresh lock blocks the others for at most this long; a live
 * holder renews it for as long as its token call takes.
 */
export const REFRESH_LOCK_TTL_MS = 15_000;
/** How long a worker waits for another's refresh (one token call; the HubSpot client's timeout is 30 s). */
export const REFRESH_LOCK_WAIT_MS = 60_000;

const storedTokensSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  expiresAt: z.number().int().optional(),
  instanceUrl: z.string().optional(),
  scopes: z.array(z.string()).optional(),
});

export class RedisTokenStore implements TokenStore {
  private readonly locks: Locks;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly box: SecretBox,
  ) {
    this.locks = new Locks(redis, keys);
  }

  async get(crm: CrmName): Promise<StoredTokens | null> {
    const sealed = await this.redis.get(this.keys.token(crm));
    if (!sealed) return null;
    const parsed = storedTokensSchema.safeParse(JSON.parse(this.box.open(sealed, `token:${crm}`)));
    if (!parsed.success) throw new Error(`the stored ${crm} tokens are unreadable; reinstall with \`smk install\``);
    return parsed.data;
  }

  async set(crm: CrmName, tokens: StoredTokens): Promise<void> {
    await this.redis.set(this.keys.token(crm), this.box.seal(JSON.stringify(tokens), `token:${crm}`));
  }

  /** Runs `fn` while no other worker refreshes `crm`'s tokens; waits for a holder to finish. */
  async withRefreshLock<T>(crm: CrmName, fn: () => Promise<T>): Promise<T> {
    return this.locks.with(`token-refresh:${crm}`, fn, { ttlMs: REFRESH_LOCK_TTL_MS, waitMs: REFRESH_LOCK_WAIT_MS, renew: true });
  }

  async clear(crm: CrmName): Promise<void> {
    await this.redis.del(this.keys.token(crm));
  }
}
