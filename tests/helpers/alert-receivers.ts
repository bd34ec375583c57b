/**
 * Real receivers for alert tests: an SMTP server (the `smtp-server` package) that keeps every mail
 * it accepts, and an HTTP server that takes Slack incoming-webhook posts and Web API
 * chat.postMessage calls, answering as Slack does. Both listen on 127.0.0.1, on a free port.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  messageId: string | null;
  subject: string;
  text: string;
  raw: string;
}

/** Undoes the quoted-printable transfer encoding nodemailer uses for long lines (RFC 2045 6.7). */
function decodeQuotedPrintable(body: string): string {
  const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function parseMail(raw: string, envelope: { from: string; to: string[] }): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string): string | null => {
    const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    return line ? line.slice(name.length + 1).trim() : null;
  };
  const encoding = header('Content-Transfer-Encoding')?.toLowerCase();
  let text = body.replace(/\r\n$/, '');
  if (encoding === 'quoted-printable') text = decodeQuotedPrintable(text);
  else if (encoding === 'base64') text = Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  let subject = header('Subject') ?? '';
  // RFC 2047 encoded words (nodemailer encodes a subject with non-ASCII text).
  subject = subject.replace(/=\?utf-8\?([QB])\?([^?]*)\?=\s*/gi, (_, kind: string, data: string) =>
    kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replace(/_/g, ' ')),
  );
  return { from: envelope.from, to: envelope.to, messageId: header('Message-ID'), subject, text: text.replace(/\r\n/g, '\n'), raw };
}

export interface SmtpReceiver {
  port: number;
  mails: ReceivedMail[];
  /** The next `n` mails are refused with a 451 (a temporary failure: the sender should retry). */
  refuseNext(n: number): void;
  /** Resolves once `count` mails have arrived (or rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  let refuse = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (refuse > 0) {
          refuse -= 1;
          const err = Object.assign(new Error('Try again later'), { responseCode: 451 });
          callback(err);
          return;
        }
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        mails.push(parseMail(Buffer.concat(chunks).toString('utf8'), { from, to: session.envelope.rcptTo.map((r) => r.address) }));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    refuseNext: (n) => {
      refuse = n;
    },
    waitFor: (count, timeoutMs = 30_000) => waitUntil(() => mails.length >= count, timeoutMs, () => `${mails.length} of ${count} mails arrived`).then(() => mails),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface SlackPost {
  path: string;
  body: Record<string, unknown>;
  authorization: string | null;
}

export interface SlackReceiver {
  url: string;
  /** Incoming-webhook URL for a path such as /services/T000/B000/XXXX. */
  webhookUrl(path?: string): string;
  /** The Web API base for a bot token (WebClient's slackApiUrl). */
  apiUrl: string;
  posts: SlackPost[];
  /** Answers the next `n` webhook posts with this status (e.g. 500, or 429 with Retry-After). */
  failNext(n: number, status: number): void;
  /** Holds every answer until release() is called (the post is recorded when it arrives, as Slack posts it). */
  hold(): void;
  release(): void;
  waitFor(count: number, timeoutMs?: number): Promise<SlackPost[]>;
  close(): Promise<void>;
}

export async function startSlackReceiver(): Promise<SlackReceiver> {
  const posts: SlackPost[] = [];
  let failures = 0;
  let failStatus = 500;
  let held: Array<() => void> | null = null;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      if (path.startsWith('/services/') && failures > 0) {
        failures -= 1;
        res.writeHead(failStatus, { 'content-type': 'text/plain', ...(failStatus === 429 ? { 'retry-after': '1' } : {}) }).end(failStatus === 429 ? 'rate_limited' : 'internal_error');
        return;
      }
      let body: Record<string, unknown>;
      // Web API methods take JSON or form bodies (api.slack.com/web#posting_json); webhooks take JSON.
      if ((req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
        body = Object.fromEntries(new URLSearchParams(text));
        for (const key of ['blocks', 'attachments']) if (typeof body[key] === 'string') body[key] = JSON.parse(body[key] as string);
      } else body = JSON.parse(text) as Record<string, unknown>;
      // Taken as Slack takes it: the message is in the channel before the answer leaves.
      posts.push({ path, body, authorization: req.headers.authorization ?? null });
      const answer = () => {
        if (path.startsWith('/services/')) {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, channel: body.channel, ts: `${Date.now() / 1000}` }));
        }
      };
      if (held) held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    webhookUrl: (path = '/services/T0001/B0001/secretsecretsecret') => `${url}${path}`,
    apiUrl: `${url}/api/`,
    posts,
    failNext: (n, status) => {
      failures = n;
      failStatus = status;
    },
    hold: () => {
      held = [];
    },
    release: () => {
      const waiting = held ?? [];
      held = null;
      for (const answer of waiting) answer();
    },
    waitFor: (count, timeoutMs = 30_000) => waitUntil(() => posts.length >= count, timeoutMs, () => `${posts.length} of ${count} Slack posts arrived`).then(() => posts),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function waitUntil(done: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
