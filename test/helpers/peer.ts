// A TCP server that tells each client the source address it sees, and its
// client: proves SNAT/DNAT with real connections inside test namespaces.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const SERVER = `
const net = require('node:net');
const s = net.createServer((c) => { c.end(c.remoteAddress.replace(/^::ffff:/, '') + '\\n'); });
s.listen(Number(process.argv[1]), process.argv[2] || '0.0.0.0', () => process.stdout.write('ready\\n'));
setTimeout(() => process.exit(0), 120000).unref();
`;

const CLIENT = `
const net = require('node:net');
const c = net.connect({ host: process.argv[1], port: Number(process.argv[2]), localAddress: process.argv[3] || undefined, timeout: 3000 });
let got = '';
c.on('data', (d) => (got += d));
c.on('end', () => { process.stdout.write(got); process.exit(0); });
c.on('timeout', () => { process.stderr.write('timeout'); process.exit(2); });
c.on('error', (e) => { process.stderr.write(e.message); process.exit(1); });
`;

export interface Server {
  child: ChildProcess;
  stop(): void;
}

/** HOST: where it listens; `::` takes IPv6 and IPv4 (as ::ffff:…, shown without the prefix). */
export function startServer(ns: string, port: number, host = '0.0.0.0'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER, String(port), host], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stop = () => {
      if (child.exitCode === null && child.pid) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`server in ${ns} did not start`));
    }, 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (String(d).includes('ready')) {
        clearTimeout(timer);
        resolve({ child, stop });
      }
    });
    child.on('error', reject);
  });
}

/** What the server at HOST:PORT saw as our source address (LOCAL when given), or null when unreachable. */
export function connectFrom(ns: string, host: string, port: number, local?: string): string | null {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT, host, String(port), ...(local ? [local] : [])], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function ping(ns: string, host: string, count = 1): boolean {
  const family = host.includes(':') ? ['-6'] : [];
  return spawnSync('ip', ['netns', 'exec', ns, 'ping', ...family, '-n', '-q', '-c', String(count), '-W', '1', host], { timeout: 10_000 }).status === 0;
}
