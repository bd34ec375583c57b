/** The sync pipeline end to end on the run's Redis (tests/e2e/pipeline-suite.ts). */
import { describePipeline } from './pipeline-suite.js';

describePipeline({ name: 'a single Redis' });
