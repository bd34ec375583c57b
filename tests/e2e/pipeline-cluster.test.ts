/**
 * The same end-to-end pipeline on a Redis Cluster of three masters: the one `.ci/run` started
 * (SMK_TEST_REDIS_CLUSTER), else one started here on free ports and stopped after.
 */
import { testCluster } from '../helpers/redis-cluster.js';
import { describePipeline } from './pipeline-suite.js';

describePipeline({ name: 'a Redis Cluster', start: testCluster });
