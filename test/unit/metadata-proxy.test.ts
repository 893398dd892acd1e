import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metadataProxyConfig, metadataProxySpec, parseUpstream } from '../../src/linux/haproxy.js';
import { metadataRules } from '../../src/agent/metadata-rules.js';

const ID = '6b1c8f0e-3f4a-4d2b-9c1e-0a1b2c3d4e5f';

test('haproxy config: listens on the port, sets the instance and router headers, forwards to a unix socket', () => {
  assert.equal(
    metadataProxyConfig({ routerId: ID, port: 9697, upstream: '/run/l3ctl/metadata.sock' }),
    `# Metadata proxy of router ${ID}, written by l3ctl: edits are overwritten.
# No user, group or chroot: it runs as root like l3ctl, and a chroot would hide a unix socket upstream.
global
    maxconn 1024
    nbthread 1
    hard-stop-after 30s

defaults
    mode http
    option http-server-close
    retries 3
    timeout http-request 10s
    timeout connect 5s
    timeout client 35s
    timeout server 35s
    timeout http-keep-alive 30s

listen metadata
    bind 0.0.0.0:9697
    http-request set-header X-Forwarded-For %[src]
    http-request del-header X-Neutron-Network-ID
    http-request set-header X-Neutron-Router-ID ${ID}
    server metadata unix@/run/l3ctl/metadata.sock
`,
  );
});

test('haproxy config: no upstream answers 503 itself; an http upstream is a server line', () => {
  const last = (upstream: string | null, port = 9697) => metadataProxyConfig({ routerId: ID, port, upstream }).trimEnd().split('\n').at(-1);
  assert.equal(last(null), '    http-request return status 503 content-type text/plain string "l3ctl: no metadata service is configured for this router"');
  assert.equal(last('http://203.0.113.10:8775'), '    server metadata 203.0.113.10:8775 init-addr last,libc,none');
  assert.equal(last('http://metadata.example.com'), '    server metadata metadata.example.com:80 init-addr last,libc,none');
  assert.equal(last('http://[2001:db8::10]:8775/'), '    server metadata [2001:db8::10]:8775 init-addr last,libc,none');
  assert.equal(
    last('https://metadata.example.com'),
    '    server metadata metadata.example.com:443 ssl verify required ca-file @system-ca sni str(metadata.example.com) init-addr last,libc,none',
  );
  assert.match(metadataProxyConfig({ routerId: ID, port: 8775, upstream: null }), /^    bind 0\.0\.0\.0:8775$/m);
});

test('haproxy config: refuses what it cannot write safely', () => {
  assert.throws(() => metadataProxyConfig({ routerId: 'r1', port: 9697, upstream: null }), /not a router id/);
  assert.throws(() => metadataProxyConfig({ routerId: ID, port: 0, upstream: null }), /bad port 0/);
  assert.throws(() => parseUpstream('/run/my socket'), /must not contain blanks/);
  assert.throws(() => parseUpstream(`/${'x'.repeat(107)}`), /longer than 107 bytes/);
  assert.throws(() => parseUpstream('ftp://h'), /must be http/);
  assert.throws(() => parseUpstream('http://h:1/openstack'), /no credentials, path or query/);
  assert.throws(() => parseUpstream('http://u:p@h:1'), /no credentials/);
  assert.throws(() => parseUpstream('metadata:8775'), /must be http/);
  assert.throws(() => parseUpstream('relative/path'), /neither an absolute socket path nor an http/);
  assert.deepEqual(parseUpstream('/run/m.sock'), { kind: 'unix', path: '/run/m.sock' });
  assert.deepEqual(parseUpstream('https://[2001:db8::1]:8443'), { kind: 'http', host: '[2001:db8::1]', port: 8443, tls: true });
});

test('metadata proxy spec: haproxy in the router namespace with the config', () => {
  const s = metadataProxySpec(`qrouter-${ID}`, `/var/lib/l3ctl/routers/${ID}`, { routerId: ID, port: 9697, upstream: null });
  assert.equal(s.kind, 'haproxy');
  assert.equal(s.ns, `qrouter-${ID}`);
  assert.match(s.config, /bind 0\.0\.0\.0:9697/);
});

test('metadata rules: REDIRECT from internal ports, ACCEPT for 127.0.0.1, DROP for anything not redirected', () => {
  assert.deepEqual(metadataRules(9697), {
    filter: [
      '-A l3ctl-INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 9697 -j ACCEPT',
      '-A l3ctl-INPUT -p tcp -m tcp --dport 9697 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP',
    ],
    nat: ['-A l3ctl-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697'],
  });
  assert.throws(() => metadataRules(70000), /bad port/);
});
