/** OAuth tokens kept in Redis, sealed with AES-256-GCM; the CRM name is the authenticated context. */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { StoredTokens, TokenStore } from '../../connectors/types.js';
import type { CrmName } from '../model/lead.js';
import type { SecretBox } from './crypto.js';
import type { Keys } from './keys.js';

const storedTokensSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  expiresAt: z.number().int().optional(),
  instanceUrl: z.string().optional(),
  scopes: z.array(z.string()).optional(),
});

export class RedisTokenStore implements TokenStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly box: SecretBox,
  ) {}

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

  async clear(crm: CrmName): Promise<void> {
    await this.redis.del(this.keys.token(crm));
  }
}
