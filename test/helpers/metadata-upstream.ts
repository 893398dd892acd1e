// A stand-in for the metadata service: an HTTP server that answers every
// request with what it received (method, path, query, headers, body) as JSON,
// run as a child of the test (this file is also the script:
// `node metadata-upstream.js unix PATH` or `… HOST PORT`). A path-named unix
// socket is reachable from every network namespace.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function echoServer(): http.Server {
  return http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://upstream');
      const echo: Echo = { method: req.method ?? '', path: url.pathname, query: url.search.replace(/^\?/, ''), headers: req.headers, body };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(echo));
    });
  });
}

export interface Upstream {
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The echo server as a child process (the test's own event loop is blocked
 * while it waits for curl through spawnSync, so it could not answer itself):
 * on a unix socket in the namespace l3ctl runs in, or on HOST:PORT in NS.
 */
function startChild(argv: string[], what: string, cleanup = () => {}): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      cleanup();
    };
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`metadata upstream ${what} did not start`));
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

const SCRIPT = fileURLToPath(import.meta.url);

export function startUnixUpstream(socketPath: string): Promise<Upstream> {
  return startChild([process.execPath, SCRIPT, 'unix', socketPath], `on ${socketPath}`, () => rmSync(socketPath, { force: true }));
}

export function startTcpUpstream(ns: string, host: string, port: number): Promise<Upstream> {
  return startChild(['ip', 'netns', 'exec', ns, process.execPath, SCRIPT, host, String(port)], `on ${host}:${port} in ${ns}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [host, port] = process.argv.slice(2);
  const server = echoServer();
  const ready = () => process.stdout.write('ready\n');
  if (host === 'unix') server.listen(port, ready);
  else server.listen(Number(port), host, ready);
  // Never outlive a test that forgot it.
  setTimeout(() => process.exit(0), 120_000).unref();
  process.on('SIGTERM', () => process.exit(0));
}

export interface Reply {
  /** curl's exit code: 0, 7 (refused), 28 (timed out: dropped). */
  exit: number;
  /** HTTP status, 0 when none came. */
  status: number;
  body: string;
}

/** curl from a namespace, with a short timeout. */
export function curlFrom(ns: string, url: string, extra: string[] = [], timeoutSec = 5): Reply {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-s', '-m', String(timeoutSec), '-o', '-', '-w', '\n%{http_code}', ...extra, url], { encoding: 'utf8' });
  const out = r.stdout ?? '';
  const i = out.lastIndexOf('\n');
  return { exit: r.status ?? 1, status: Number(out.slice(i + 1)) || 0, body: out.slice(0, Math.max(i, 0)) };
}
