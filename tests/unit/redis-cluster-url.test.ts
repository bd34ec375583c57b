/** Naming a Redis Cluster (REDIS_CLUSTER_NODES, redis+cluster://) and the layout-2 key names, by table. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createKeys } from '../../src/store/keys.js';
import { layoutTwoName } from '../../src/store/layout.js';
import { clusterUrlFromNodes, isClusterUrl, parseClusterUrl, redactUrl, redisUrlFromEnv } from '../../src/store/redis.js';

describe('a cluster URL', () => {
  it.each([
    ['redis+cluster://10.0.0.1:6379,10.0.0.2:6380', { nodes: [{ host: '10.0.0.1', port: 6379 }, { host: '10.0.0.2', port: 6380 }], tls: false }],
    ['rediss+cluster://app:s%40cret@redis.internal:7000/', { nodes: [{ host: 'redis.internal', port: 7000 }], tls: true, username: 'app', password: 's@cret' }],
    ['redis+cluster://:pw@[::1]:7000', { nodes: [{ host: '::1', port: 7000 }], tls: false, password: 'pw' }],
  ])('reads %s', (url, target) => {
    expect(isClusterUrl(url)).toBe(true);
    expect(parseClusterUrl(url)).toEqual(target);
  });

  it.each(['redis+cluster://', 'redis+cluster://host', 'redis+cluster://host:99999', 'redis+cluster://a:1,,b:2'])('refuses %s and says why', (url) => {
    expect(() => parseClusterUrl(url)).toThrow(/cluster/);
  });

  it('never shows the password', () => {
    expect(redactUrl('redis+cluster://app:s3cret@h:1,h:2')).toBe('redis+cluster://app:***@h:1,h:2');
    expect(() => parseClusterUrl('redis+cluster://app:s3cret@nohost')).toThrow(/^(?!.*s3cret)/);
  });

  it('takes REDIS_CLUSTER_NODES as the same cluster, and refuses both at once', () => {
    expect(clusterUrlFromNodes(' 10.0.0.1:6379 , 10.0.0.2:6379')).toBe('redis+cluster://10.0.0.1:6379,10.0.0.2:6379');
    expect(redisUrlFromEnv({ REDIS_CLUSTER_NODES: 'a:1,b:2' })).toBe('redis+cluster://a:1,b:2');
    expect(redisUrlFromEnv({ REDIS_URL: 'redis://x:1' })).toBe('redis://x:1');
    expect(() => redisUrlFromEnv({ REDIS_URL: 'redis://x:1', REDIS_CLUSTER_NODES: 'a:1' })).toThrow(/not both/);
    expect(loadConfig({ env: { REDIS_CLUSTER_NODES: 'a:1,b:2' } }).env.REDIS_URL).toBe('redis+cluster://a:1,b:2');
    expect(loadConfig({ env: { REDIS_URL: 'redis+cluster://a:1' } }).env.REDIS_URL).toBe('redis+cluster://a:1');
    expect(() => loadConfig({ env: { REDIS_CLUSTER_NODES: 'a,b' } })).toThrow(/REDIS_CLUSTER_NODES.*host:port/s);
  });
});

describe('the layout-2 name of a layout-1 key', () => {
  const keys = createKeys('smk');
  it.each([
    ['smk:lead:L0123', 'smk:lead:{L0123}'],
    ['smk:lead-version:L0123', 'smk:lead-version:{L0123}'],
    ['smk:lead-evaluated:L0123', 'smk:lead-evaluated:{L0123}'],
    ['smk:meta:open-leads:005A', 'smk:meta:{open-leads}:owner:005A'],
    ['smk:meta:open-leads-holder', 'smk:meta:{open-leads}:holder'],
    ['smk:{q}:evaluate:wait', 'smk:{evaluate}:evaluate:wait'],
    ['smk:{q}:writeback-hubspot:42', 'smk:{writeback-hubspot}:writeback-hubspot:42'],
    ['smk:{q}:poll:repeat:abc', 'smk:{poll}:poll:repeat:abc'],
  ])('%s -> %s', (from, to) => {
    expect(layoutTwoName(keys, from)).toBe(to);
  });

  it.each(['smk:lead:{L0123}', 'smk:leads', 'smk:{evaluate}:evaluate:wait', 'smk:pending:{hubspot}:write:ids', 'other:lead:L1', 'smk:link:hubspot:contact:1'])('leaves %s', (key) => {
    expect(layoutTwoName(keys, key)).toBeNull();
  });
});
