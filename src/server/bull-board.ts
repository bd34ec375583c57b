/**
 * Bull Board over every queue, at `/admin/queues`. The caller mounts it behind the admin guard;
 * the guard accepts the dashboard's cookie, so an admin who logged in can open it in a browser.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { Queues } from '../../jobs/queues.js';

export const BULL_BOARD_PATH = '/admin/queues';

export function bullBoardRouter(queues: Queues): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.all().map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Smarketing queues' } },
  });
  // @bull-board/express types its router as `any`; it is an express Router.
  return serverAdapter.getRouter() as Router;
}
