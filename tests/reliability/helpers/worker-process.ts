/**
 * A `smk worker` child process, as an operator runs it, that a chaos test can SIGKILL and start
 * again. Its JSON log lines are counted as they arrive (job retries, dead letters, call retries);
 * nothing else of its output is kept.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SMK_BIN = fileURLToPath(new URL('../../../bin/smk.js', import.meta.url));

/** Counts of the log lines that tell how much work had to be done again. */
export class LogTally {
  jobRetries = 0;
  deadLetters = 0;
  callRetries = 0;
  callFailures = 0;
  /** The change stream: stored replay ids found expired (cursor poll instead), refused sessions refreshed. */
  streamReplayExpired = 0;
  streamSessionRefreshed = 0;
  lines = 0;
  /** With SMK_CHAOS_DEBUG set, every line is kept for a post-mortem. */
  readonly kept: string[] = [];

  /** One pino JSON line (anything else is ignored). */
  take(line: string): void {
    if (process.env.SMK_CHAOS_DEBUG) this.kept.push(line);
    if (!line.startsWith('{')) return;
    let entry: { msg?: unknown; final?: unknown };
    try {
      entry = JSON.parse(line) as { msg?: unknown; final?: unknown };
    } catch {
      return;
    }
    this.lines += 1;
    switch (entry.msg) {
      case 'job failed':
        if (entry.final === true) this.deadLetters += 1;
        else this.jobRetries += 1;
        break;
      case 'HubSpot call will be retried':
        this.callRetries += 1;
        break;
      case 'HubSpot call failed':
      case 'salesforce call failed':
        this.callFailures += 1;
        break;
      case 'stored replay id no longer retained: polling from the cursor and subscribing for new changes':
        this.streamReplayExpired += 1;
        break;
      case 'the streaming session was refused: subscribing again at once with a refreshed session':
      case 'the streaming session was refused: refreshing it and subscribing again':
        this.streamSessionRefreshed += 1;
        break;
      default:
        break;
    }
  }

  /** A pino destination that tallies the lines of an in-process logger. */
  destination(): { write(chunk: string): void } {
    return {
      write: (chunk: string) => {
        for (const line of chunk.split('\n')) if (line) this.take(line);
      },
    };
  }
}

export class WorkerProcess {
  private child: ChildProcess | null = null;
  starts = 0;
  kills = 0;

  constructor(
    private readonly env: Record<string, string>,
    private readonly tally: LogTally,
    readonly name: string,
    /** Extra arguments of `smk worker`, e.g. `['--queues', 'alerts']`. */
    private readonly args: readonly string[] = [],
  ) {}

  /** Starts `node bin/smk.js worker` and resolves once its workers are up. */
  async start(timeoutMs = 60_000): Promise<void> {
    const child = spawn(process.execPath, [SMK_BIN, 'worker', ...this.args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env, LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts += 1;
    // Never outlive the test: a run stopped by Ctrl-C or a crash takes its workers along.
    const orphanGuard = () => child.kill('SIGKILL');
    process.once('exit', orphanGuard);
    child.once('exit', () => process.removeListener('exit', orphanGuard));
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited with ${code} before it started: ${stderr}`));
      };
      child.once('exit', onExit);
      lines.on('line', (line) => {
        this.tally.take(line);
        if (line.includes('"workers started"')) {
          clearTimeout(timer);
          child.removeListener('exit', onExit);
          resolve();
        }
      });
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL: no clean-up of any kind, as when a machine dies. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    this.kills += 1;
    await exited;
  }

  /** SIGTERM, as an orchestrator stops it: in-flight jobs finish first. */
  async stop(timeoutMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
