import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/store/crypto.js';

describe('SecretBox (AES-256-GCM)', () => {
  const box = new SecretBox(SecretBox.generateKey());

  it('round-trips and never stores the plaintext', () => {
    const sealed = box.seal('pat-na1-secret-token', 'token:hubspot');
    expect(sealed).not.toContain('secret');
    expect(sealed.startsWith('v1:')).toBe(true);
    expect(box.open(sealed, 'token:hubspot')).toBe('pat-na1-secret-token');
  });

  it('uses a fresh nonce each time', () => {
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('refuses a value moved to another slot, a tampered value, or another key', () => {
    const sealed = box.seal('x', 'token:hubspot');
    expect(() => box.open(sealed, 'token:salesforce')).toThrow();
    const parts = sealed.split(':');
    parts[3] = Buffer.from('y').toString('base64url');
    expect(() => box.open(parts.join(':'), 'token:hubspot')).toThrow();
    expect(() => new SecretBox(SecretBox.generateKey()).open(sealed, 'token:hubspot')).toThrow();
  });

  it('takes keys as hex or base64 and rejects others with a fix', () => {
    expect(() => new SecretBox('a'.repeat(64))).not.toThrow();
    expect(() => new SecretBox(Buffer.alloc(32, 7).toString('base64'))).not.toThrow();
    expect(() => new SecretBox('short')).toThrow(/openssl rand -hex 32/);
  });
});
