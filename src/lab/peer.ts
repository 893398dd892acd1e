// The lab's TCP peer, run inside a test host with `ip netns exec NS node peer.js …`.
//   serve PORT LABEL [COUNT] [TIMEOUT_MS]  print 'ready' once listening; answer every
//                                          client with "<its source address> <LABEL>";
//                                          exit after COUNT clients or TIMEOUT_MS
//   connect HOST PORT [LOCAL]              print the server's answer; exit 2 after 3 s
//                                          (LOCAL: the source address to use)
// Built-ins only: it starts once per check and must start fast.
import net from 'node:net';

const CONNECT_TIMEOUT_MS = 3000;

function serve(port: number, label: string, count: number, timeoutMs: number): void {
  let served = 0;
  const server = net.createServer((c) => {
    const remote = (c.remoteAddress ?? '?').replace(/^::ffff:/, '');
    c.end(`${remote} ${label}\n`, () => {
      if (++served >= count) server.close(() => process.exit(0));
    });
    c.on('error', () => {});
  });
  let host = '::';
  server.on('error', (e: NodeJS.ErrnoException) => {
    // IPv6 and IPv4 on one socket; IPv4 alone where the kernel has no IPv6.
    if (host === '::' && e.code === 'EAFNOSUPPORT') return void server.listen(port, (host = '0.0.0.0'));
    process.stderr.write(`peer: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(port, host, () => process.stdout.write('ready\n'));
  // A safety net: the lab kills servers by pid, but never leave one behind.
  setTimeout(() => process.exit(0), timeoutMs).unref();
}

function connect(host: string, port: number, local?: string): void {
  let got = '';
  const fail = (code: number, why: string) => {
    process.stderr.write(`${why}\n`);
    process.exit(code);
  };
  const c = net.connect({ host, port, timeout: CONNECT_TIMEOUT_MS, ...(local ? { localAddress: local } : {}) });
  c.setEncoding('utf8');
  c.on('data', (d) => (got += d));
  c.on('end', () => {
    process.stdout.write(got);
    process.exit(0);
  });
  c.on('timeout', () => fail(2, 'timeout'));
  c.on('error', (e) => fail(1, e.message));
  setTimeout(() => fail(2, 'timeout'), CONNECT_TIMEOUT_MS).unref();
}

const [verb, a, b, c, d] = process.argv.slice(2);
const usage = () => {
  process.stderr.write('usage: peer.js serve PORT LABEL [COUNT] [TIMEOUT_MS] | connect HOST PORT [LOCAL]\n');
  process.exit(64);
};
if (verb === 'serve' && a && b) serve(Number(a), b, Number(c ?? 1), Number(d ?? 30_000));
else if (verb === 'connect' && a && b) connect(a, Number(b), c);
else usage();
