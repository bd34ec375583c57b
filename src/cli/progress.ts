/**
 * Progress for long commands: bars with counts and ETA on a terminal, plain lines otherwise
 * (cron, CI, log files), at most one line every few seconds.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(label: string, value: number, total?: number): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const multi = new cliProgress.MultiBar(
      { format: ' {label} |{bar}| {value}/{total} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: false, stream },
      cliProgress.Presets.shades_classic,
    );
    const bars = new Map<string, cliProgress.SingleBar>();
    return {
      update(label, value, total) {
        let bar = bars.get(label);
        if (!bar) {
          bar = multi.create(Math.max(total ?? value, 1), value, { label: label.padEnd(18) });
          bars.set(label, bar);
        }
        if (total !== undefined) bar.setTotal(Math.max(total, 1));
        bar.update(value, { label: label.padEnd(18) });
      },
      stop: () => multi.stop(),
    };
  }
  const last = new Map<string, number>();
  return {
    update(label, value, total) {
      const now = Date.now();
      if (now - (last.get(label) ?? 0) < 2000) return;
      last.set(label, now);
      stream.write(`${new Date(now).toISOString()} ${label}: ${value}${total !== undefined ? `/${total}` : ''}\n`);
    },
    stop: () => undefined,
  };
}
