/**
 * Secrets at rest: AES-256-GCM with a random 96-bit nonce per value. The stored form is
 * `v1:<nonce>:<tag>:<ciphertext>` in base64url, so a value read back is recognisably ours.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: string | Buffer) {
    this.key = typeof key === 'string' ? SecretBox.parseKey(key) : key;
    if (this.key.length !== 32) throw new Error('the encryption key must be 32 bytes');
  }

  /** SMK_ENCRYPTION_KEY as 64 hex characters or base64 of 32 bytes. */
  static parseKey(text: string): Buffer {
    if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
    const decoded = Buffer.from(text, 'base64');
    if (decoded.length === 32) return decoded;
    throw new Error('SMK_ENCRYPTION_KEY must be 32 bytes as 64 hex characters or base64 (openssl rand -hex 32)');
  }

  static generateKey(): string {
    return randomBytes(32).toString('hex');
  }

  seal(plaintext: string, context = ''): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    // The context (e.g. the CRM name) is authenticated, so a value cannot be swapped between slots.
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['v1', nonce.toString('base64url'), tag.toString('base64url'), body.toString('base64url')].join(':');
  }

  open(sealed: string, context = ''): string {
    const [version, nonce, tag, body] = sealed.split(':');
    if (version !== 'v1' || !nonce || !tag || body === undefined) throw new Error('not a sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}
