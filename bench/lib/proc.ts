/**
 * Child processes of the benchmark: spawned with their own environment, their output kept in a log
 * file, the first stdout line handed back (the sandboxes' connection line, the server's URL), and
 * their peak resident memory read from /proc/<pid>/status (VmHWM: the high-water mark of the
 * process's whole life), sampled every second so that the last value survives the exit.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import type { WriteStream } from 'node:fs';

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** The first line the child printed on stdout. */
  firstLine: Promise<string>;
  /** Peak resident set (MB) so far; null where /proc is not readable. */
  peakRssMb(): number | null;
  /** CPU seconds used so far (the last sample once the process has exited). */
  cpuSeconds(): number | null;
  exited: boolean;
  /** How it ended, once it has: `exit code N` or `signal S`. */
  exitedWith: string | null;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** VmHWM (peak RSS) and VmRSS of a live process, in MB. */
export function procMemory(pid: number): { peakMb: number; rssMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const peak = kb('VmHWM');
    const rss = kb('VmRSS');
    if (!Number.isFinite(peak)) return null;
    return { peakMb: peak / 1024, rssMb: rss / 1024 };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a live process has used, from /proc/<pid>/stat (100 ticks a second). */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / 100 : null;
  } catch {
    return null;
  }
}

export function spawnChild(
  name: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; logPath: string; firstLineTimeoutMs?: number },
): Child {
  const log: WriteStream = createWriteStream(options.logPath, { flags: 'a' });
  const proc = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${args.join(' ')}`);
  let peak: number | null = null;
  let cpu: number | null = null;
  const sample = () => {
    const m = procMemory(proc.pid as number);
    if (m) peak = Math.max(peak ?? 0, m.peakMb);
    const c = procCpuSeconds(proc.pid as number);
    if (c !== null) cpu = c;
  };
  const sampler = setInterval(sample, 1000);
  sampler.unref();

  let buffered = '';
  let resolved = false;
  const firstLine = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (!resolved) reject(new Error(`${name} printed nothing within ${options.firstLineTimeoutMs ?? 120_000} ms (log: ${options.logPath})`));
    }, options.firstLineTimeoutMs ?? 120_000);
    timer.unref();
    proc.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (resolved) return;
      buffered += chunk.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl >= 0) {
        resolved = true;
        clearTimeout(timer);
        resolve(buffered.slice(0, nl));
      }
    });
    proc.once('exit', (code, signal) => {
      if (!resolved) reject(new Error(`${name} exited (${code ?? signal}) before printing its first line (log: ${options.logPath})`));
    });
  });
  firstLine.catch(() => undefined);
  proc.stderr?.on('data', (chunk: Buffer) => log.write(chunk));

  const child: Child = {
    name,
    pid: proc.pid,
    proc,
    firstLine,
    exited: false,
    exitedWith: null,
    peakRssMb: () => {
      if (!child.exited) sample();
      return peak;
    },
    cpuSeconds: () => {
      if (!child.exited) sample();
      return cpu;
    },
    stop: async (signal = 'SIGTERM', graceMs = 20_000) => {
      if (child.exited) return;
      sample();
      const done = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill(signal);
      const timer = setTimeout(() => {
        if (!child.exited) proc.kill('SIGKILL');
      }, graceMs);
      await done;
      clearTimeout(timer);
    },
  };
  proc.once('exit', (code, signal) => {
    child.exited = true;
    child.exitedWith = signal ? `signal ${signal}` : `exit code ${code ?? 'none'}`;
    // Said in its log too: a process killed by a signal prints nothing of its own.
    log.end(`\n[bench] ${name} ended: ${child.exitedWith}\n`);
    clearInterval(sampler);
  });
  return child;
}

/** Node's own old-space limit (MB) where no flag is given: about 4.3 GB on this kind of machine. */
const NODE_DEFAULT_HEAP_MB = 4096;
/** What the sandboxes hold per person by the end of a full sync (seeded records, written values, call records). */
const SANDBOX_BYTES_PER_PERSON = 12 * 1024;

/**
 * The heap limit for the sandbox process, from the people it holds: both CRMs live in its memory,
 * about 4 KB a person when seeded and more as the sync writes. At 1,000,000 people (2026-12-06)
 * it reached Node's default limit during the sync's writes, stopped answering, and the phase
 * failed ("fetch failed"). 12 KB a person, never below Node's default, at most 60 % of the
 * machine's memory; null when the default is enough (no flag).
 */
export function sandboxHeapMb(people: number, totalMemoryBytes: number): number | null {
  const wanted = Math.ceil((people * SANDBOX_BYTES_PER_PERSON) / (1024 * 1024));
  if (wanted <= NODE_DEFAULT_HEAP_MB) return null;
  return Math.max(NODE_DEFAULT_HEAP_MB, Math.min(wanted, Math.floor((totalMemoryBytes * 0.6) / (1024 * 1024))));
}
