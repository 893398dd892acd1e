// `metadata_upstream`: where the metadata proxy of every router sends its
// requests. Pure: checked when the key is set (model/config.ts) and read when
// the proxy's config is written (linux/haproxy.ts).
export type Upstream =
  | { kind: 'unix'; path: string }
  | { kind: 'http'; host: string; port: number; tls: boolean };

/** A unix socket's path fits in sun_path (108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * `metadata_upstream` as haproxy will use it: an absolute unix socket path or
 * an `http://host[:port]` / `https://host[:port]` URL without a path. Throws
 * an Error that says what is wrong.
 */
export function parseUpstream(s: string): Upstream {
  if (s.startsWith('/')) {
    // haproxy's config splits words on blanks and treats # and quotes specially.
    if (/[\s"'#\\]/.test(s)) throw new Error(`metadata upstream socket path must not contain blanks, quotes, # or \\: ${JSON.stringify(s)}`);
    if (Buffer.byteLength(s) > MAX_SOCKET_PATH) throw new Error(`metadata upstream socket path is longer than ${MAX_SOCKET_PATH} bytes: ${s}`);
    return { kind: 'unix', path: s };
  }
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Error(`metadata upstream is neither an absolute socket path nor an http:// URL: ${JSON.stringify(s)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`metadata upstream URL must be http:// or https://: ${s}`);
  if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw new Error(`metadata upstream URL takes a host and a port only, no credentials, path or query: ${s}`);
  }
  const tls = u.protocol === 'https:';
  // URL keeps the brackets of an IPv6 literal, which is how haproxy wants it.
  return { kind: 'http', host: u.hostname, port: u.port ? Number(u.port) : tls ? 443 : 80, tls };
}
