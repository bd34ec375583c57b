/**
 * The HTTP service on a Redis Cluster: the admin rate limits (rate-limit-redis runs its scripts by
 * EVALSHA on the key's node, so they are loaded on every master) and the status endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, authHeaders, startHarness } from '../../server/helpers.js';
import type { ServerHarness } from '../../server/helpers.js';
import { testCluster } from '../../helpers/redis-cluster.js';
import type { TestCluster } from '../../helpers/redis-cluster.js';
import { createRedis } from '../../../src/store/redis.js';

let cluster: TestCluster;
let h: ServerHarness;

beforeAll(async () => {
  cluster = await testCluster();
  // The scripts of an earlier run may still be cached on some masters: each node starts without them.
  await Promise.all(cluster.url.replace(/^redis\+cluster:\/\//, '').split(',').map(async (node) => {
    const client = createRedis(`redis://${node}`);
    try {
      await client.script('FLUSH');
    } finally {
      client.disconnect();
    }
  }));
  h = await startHarness('cluster-server', { redisUrl: cluster.url, server: { trustProxy: 'loopback' } });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await cluster?.stop();
});

function login(ip: string, token: string): Promise<Response> {
  return fetch(`${h.url}/login`, { method: 'POST', redirect: 'manual', headers: { 'X-Forwarded-For': ip, 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
}

describe('the service on a Redis Cluster', () => {
  it('rate-limits wrong tokens per address, for addresses whose counts lie on different masters', async () => {
    // Several addresses: their counters hash to different slots, so to different masters.
    for (const ip of ['203.0.113.5', '203.0.113.6', '203.0.113.7', '203.0.113.8']) {
      const codes: number[] = [];
      for (let i = 0; i < 21; i += 1) codes.push((await login(ip, 'wrong-admin-token-1234567890')).status);
      expect(codes.slice(0, 20)).toEqual(Array(20).fill(401));
      expect(codes[20]).toBe(429);
    }
    expect((await login('198.51.100.7', ADMIN_TOKEN)).status).toBe(204);
  });

  it('answers the status endpoint', async () => {
    const res = await fetch(`${h.url}/api/status`, { headers: authHeaders() });
    expect(res.status).toBe(200);
  });
});
