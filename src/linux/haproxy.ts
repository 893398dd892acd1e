// The metadata proxy of one router: an haproxy config (pure text) that
// listens on metadata_port in the router namespace, where the REDIRECT sends
// instances' requests for 169.254.169.254:80, and hands every request on to
// the metadata service with the instance's address and the router's id.
import { isUuid } from '../model/names.js';
import { parseUpstream } from '../model/upstream.js';
import { daemonSpec, type DaemonSpec } from './daemon.js';

export { parseUpstream, type Upstream } from '../model/upstream.js';

export interface MetadataProxyInput {
  routerId: string;
  port: number;
  /** `metadata_upstream`; null: every request is answered 503 until it is set. */
  upstream: string | null;
}

/** What haproxy answers while metadata_upstream is unset. */
export const NO_UPSTREAM_BODY = 'l3ctl: no metadata service is configured for this router';

export function metadataProxyConfig(input: MetadataProxyInput): string {
  const { routerId, port } = input;
  if (!isUuid(routerId)) throw new Error(`metadata proxy: not a router id: ${JSON.stringify(routerId)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`metadata proxy: bad port ${port}`);
  const upstream = input.upstream === null ? null : parseUpstream(input.upstream);

  const lines = [
    `# Metadata proxy of router ${routerId}, written by l3ctl: edits are overwritten.`,
    '# No user, group or chroot: it runs as root like l3ctl, and a chroot would hide a unix socket upstream.',
    'global',
    '    maxconn 1024',
    // One thread: one haproxy per router, most of them idle.
    '    nbthread 1',
    // After a soft reload the old process serves its open requests, then must go.
    '    hard-stop-after 30s',
    '',
    'defaults',
    '    mode http',
    '    option http-server-close',
    '    retries 3',
    '    timeout http-request 10s',
    '    timeout connect 5s',
    // The metadata service may take its time (Neutron's agent asks Nova in turn).
    '    timeout client 35s',
    '    timeout server 35s',
    '    timeout http-keep-alive 30s',
    '',
    'listen metadata',
    `    bind 0.0.0.0:${port}`,
    // set-header replaces what the client sent: an instance cannot claim another's address or router.
    '    http-request set-header X-Forwarded-For %[src]',
    '    http-request del-header X-Neutron-Network-ID',
    `    http-request set-header X-Neutron-Router-ID ${routerId}`,
  ];
  if (upstream === null) {
    lines.push(`    http-request return status 503 content-type text/plain string "${NO_UPSTREAM_BODY}"`);
  } else if (upstream.kind === 'unix') {
    lines.push(`    server metadata unix@${upstream.path}`);
  } else {
    // A name that does not resolve yet must not stop haproxy from starting (it answers 503 instead).
    const tls = upstream.tls ? ` ssl verify required ca-file @system-ca sni str(${upstream.host.replace(/^\[|\]$/g, '')})` : '';
    lines.push(`    server metadata ${upstream.host}:${upstream.port}${tls} init-addr last,libc,none`);
  }
  return lines.join('\n') + '\n';
}

/** The haproxy of one router, as daemon.ts runs it. */
export function metadataProxySpec(ns: string | null, dir: string, input: MetadataProxyInput): DaemonSpec {
  return daemonSpec('haproxy', ns, dir, metadataProxyConfig(input));
}
