/**
 * Stopping on a signal, as a person at a terminal expects. Ctrl-C reaches a process started by
 * `npm run` or `tsx` twice within milliseconds (once from the terminal, once relayed by the
 * wrapper): repeats within REPEAT_MS are the same request and are ignored, so cleanup finishes;
 * a signal sent after that is a person insisting, and ends the process at once.
 *
 * `npx smk start` runs us under npm's exec, which exits on SIGTERM without passing it on: the
 * process then finds itself orphaned (its parent changed) and stops as if it got the signal.
 */
export const REPEAT_MS = 2000;

export interface StopSignals {
  /** Stops listening (the process is done). */
  dispose(): void;
}

export function onStopSignals(onStop: (signal: string) => void, options: { forced?: (signal: string) => void; watchOrphan?: boolean } = {}): StopSignals {
  let firstAt = 0;
  const handler = (signal: NodeJS.Signals | 'parent exit') => {
    const now = Date.now();
    if (firstAt === 0) {
      firstAt = now;
      onStop(signal);
      return;
    }
    if (now - firstAt < REPEAT_MS) return;
    if (options.forced) options.forced(signal);
    else process.exit(1);
  };
  const onSigint = () => handler('SIGINT');
  const onSigterm = () => handler('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  let timer: NodeJS.Timeout | null = null;
  // Under npx (npm exec), whose SIGTERM is not passed on: stop once the parent is gone.
  if (options.watchOrphan ?? process.env.npm_command === 'exec') {
    const parent = process.ppid;
    timer = setInterval(() => {
      if (process.ppid !== parent) handler('parent exit');
    }, 1000);
    timer.unref();
  }
  return {
    dispose: () => {
      process.removeListener('SIGINT', onSigint);
      process.removeListener('SIGTERM', onSigterm);
      if (timer) clearInterval(timer);
    },
  };
}
