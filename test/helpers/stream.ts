// Traffic that runs through an event (a failover) and says how long it was
// cut: a 0.1 s ping stream, and one TCP session echoing a line every 0.1 s.
import { spawn, type ChildProcess } from 'node:child_process';

export interface StreamResult {
  sent: number;
  received: number;
  /** Requests that got no reply. */
  lost: number;
  /** Longest time without a reply (between replies, or from the last one to the stop). */
  maxGapMs: number;
  dups: number;
}

export interface Stream<R> {
  stop(): Promise<R>;
}

/** Longest pause in a series of arrival times (ms), counting the pause before END. */
export function longestGap(times: number[], end: number): number {
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  if (times.length) gap = Math.max(gap, end - times[times.length - 1]!);
  return Math.round(gap);
}

function collect(c: ChildProcess): { lines: string[] } {
  const out = { lines: [] as string[] };
  let buf = '';
  c.stdout!.on('data', (d: Buffer) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      out.lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return out;
}

const exited = (c: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.on('close', () => resolve());
  });

/** `ping -i 0.1 TARGET` run with PREFIX (e.g. ip netns exec NS); its replies are timed by ping itself (-D). */
export function pingStream(prefix: string[], target: string, interval = 0.1): Stream<StreamResult> {
  const argv = [...prefix, 'ping', '-n', '-D', '-i', String(interval), '-W', '1', target];
  const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
  const out = collect(c);
  return {
    async stop() {
      const end = Date.now();
      c.kill('SIGINT');
      await exited(c);
      const seen = new Set<number>();
      const times: number[] = [];
      let dups = 0;
      for (const l of out.lines) {
        const m = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/.exec(l);
        if (!m) continue;
        if (seen.has(Number(m[2]))) {
          dups++;
          continue;
        }
        seen.add(Number(m[2]));
        times.push(Number(m[1]) * 1000);
      }
      const sum = out.lines.map((l) => /(\d+) packets transmitted, (\d+) received/.exec(l)).find(Boolean);
      const sent = sum ? Number(sum[1]) : seen.size;
      const received = sum ? Number(sum[2]) : seen.size;
      return { sent, received, lost: sent - received, maxGapMs: longestGap(times, end), dups };
    },
  };
}

const ECHO_SERVER = `
const net = require('node:net');
const s = net.createServer((c) => { c.on('error', () => {}); c.pipe(c); });
s.listen(Number(process.argv[1]), '0.0.0.0', () => process.stdout.write('ready\\n'));
setTimeout(() => process.exit(0), 300000).unref();
`;

const ECHO_CLIENT = `
const net = require('node:net');
const c = net.connect({ host: process.argv[1], port: Number(process.argv[2]) });
let n = 0, buf = '';
c.on('connect', () => { process.stdout.write('connected\\n'); setInterval(() => c.write(n++ + '\\n'), 100); });
c.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) { process.stdout.write('echo ' + Date.now() + ' ' + buf.slice(0, i) + '\\n'); buf = buf.slice(i + 1); }
});
c.on('error', (e) => { process.stdout.write('error ' + e.message + '\\n'); process.exit(1); });
c.on('close', () => { process.stdout.write('closed\\n'); process.exit(0); });
`;

/** A TCP echo server run with PREFIX; resolves once it listens. */
export function echoServer(prefix: string[], port: number): Promise<ChildProcess> {
  const argv = [...prefix, process.execPath, '-e', ECHO_SERVER, String(port)];
  const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('echo server did not start')), 10_000);
    c.stdout!.on('data', (d: Buffer) => {
      if (String(d).includes('ready')) {
        clearTimeout(t);
        resolve(c);
      }
    });
  });
}

export interface SessionResult {
  connected: boolean;
  /** Lines echoed back over the one connection. */
  echoes: number;
  maxGapMs: number;
  /** 'closed' or 'error …' when the connection ended before stop. */
  ended: string | null;
}

/** One TCP connection to HOST:PORT writing a line every 0.1 s; resolves once connected. */
export async function tcpSession(prefix: string[], host: string, port: number): Promise<Stream<SessionResult>> {
  const argv = [...prefix, process.execPath, '-e', ECHO_CLIENT, host, String(port)];
  const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
  const out = collect(c);
  for (let i = 0; i < 100 && !out.lines.includes('connected') && c.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  return {
    async stop() {
      const end = Date.now();
      const ended = out.lines.find((l) => l === 'closed' || l.startsWith('error ')) ?? null;
      c.kill('SIGKILL');
      await exited(c);
      const times = out.lines.filter((l) => l.startsWith('echo ')).map((l) => Number(l.split(' ')[1]));
      return { connected: out.lines.includes('connected'), echoes: times.length, maxGapMs: longestGap(times, end), ended };
    },
  };
}
