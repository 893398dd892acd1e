// Replay (Tailscale's TestRouterStates): a sequence of desired states made
// pseudorandomly from a fixed seed (routers, ports, gateways, floating IPs,
// routes, enable/disable, config changes) is driven through the agent's pass
// (observe → plan → apply, the real functions) against the fake system.
// After each state the whole fake kernel must equal what an expectation
// derived from the state alone says (written here from the design, without
// the planner, the NAT generator or the daemon code: agent-behaviour.md for
// the kernel, the README for the metadata proxy's process and files), and
// planning again must give nothing.
// The same states are then replayed in shuffled orders: every state must be
// reachable from every other.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkState } from '../../src/model/validate.js';
import { emptyState, type Network, type Port, type Router, type State } from '../../src/model/types.js';
import path from 'node:path';
import { FakeSystem } from '../helpers/fakesys.js';
import { converge, replan } from '../helpers/world.js';

const SEED = 20261134;
const STATES = 40;
const HOST = 'l3ctl-t-unit-replay';

/** A small, fast, seedable generator (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- addresses, written out by hand so the expectation needs no library ----

const ipInt = (ip: string) => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const intIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
const cidrOf = (c: string) => ({ base: ipInt(c.split('/')[0]!), len: Number(c.split('/')[1]) });
const inCidr = (c: string, ip: string) => {
  const { base, len } = cidrOf(c);
  return Math.floor(ipInt(ip) / 2 ** (32 - len)) === Math.floor(base / 2 ** (32 - len));
};
const bcast = (c: string) => intIp(cidrOf(c).base + 2 ** (32 - cidrOf(c).len) - 1);
const host = (c: string, k: number) => intIp(cidrOf(c).base + k);

// ---- the generator of desired states ----

const EXT_ID = 'e0000000-0000-4000-8000-000000000001';
const EXT: Network = { id: EXT_ID, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null };
const INTERNAL: Network[] = ['198.51.100.0/26', '198.51.100.64/26', '198.51.100.128/26', '192.0.2.0/26', '192.0.2.64/26'].map((cidr, i) => ({
  id: `a${i}000000-0000-4000-8000-00000000000${i}`,
  name: `net${i}`,
  cidr,
  gateway_ip: null,
  external: false,
  bridge: null,
}));
const ROUTE_DSTS = ['192.0.2.128/26', '192.0.2.192/27', '192.0.2.224/32', '192.0.2.240/28'];

class Generator {
  private n = 0;
  /** The name of the last change made. */
  last = '';
  private readonly used = new Set<string>();
  constructor(private readonly rnd: () => number) {}

  pick<T>(xs: T[]): T | undefined {
    return xs.length ? xs[Math.floor(this.rnd() * xs.length)] : undefined;
  }

  /** A fresh UUID whose first 11 characters (the device names' part) are unique. */
  id(): string {
    this.n++;
    const h = (this.n + 0x10000000).toString(16);
    return `${h}-00${h.slice(-2)}-4000-8000-${String(this.n).padStart(12, '0')}`;
  }

  mac(): string {
    this.n++;
    return `fa:16:3e:00:${(this.n >> 8).toString(16).padStart(2, '0')}:${(this.n & 255).toString(16).padStart(2, '0')}`;
  }

  /** A free host address of `cidr` from offset `from` on. */
  free(s: State, cidr: string, from: number): string {
    const used = new Set([
      ...s.routers.flatMap((r) => [...r.interfaces, ...(r.gateway ? [r.gateway] : [])].map((p) => p.ip_address)),
      ...s.floatingips.flatMap((f) => [f.floating_ip_address, f.fixed_ip_address ?? '']),
      ...s.routers.flatMap((r) => r.routes.map((x) => x.nexthop)),
      ...s.networks.map((x) => x.gateway_ip ?? ''),
    ]);
    for (let k = from; ; k++) if (!used.has(host(cidr, k))) return host(cidr, k);
  }

  port(s: State, net: Network, from: number): Port {
    return { id: this.id(), network_id: net.id, ip_address: this.free(s, net.cidr, from), mac_address: this.mac(), admin_state_up: true };
  }

  /** One random change to `s`; false when it does not apply. */
  step(s: State, growing: boolean): boolean {
    const r = this.pick(s.routers);
    const cidr = (p: Port) => s.networks.find((x) => x.id === p.network_id)!.cidr;
    // [weight while growing, weight while churning, name, change].
    const ops: [number, number, string, () => boolean][] = [
      [1, 0.7, 'router-add', () => {
        if (s.routers.length >= 3) return false;
        s.routers.push({ id: this.id(), name: `r${this.n}`, admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null });
        return true;
      }],
      [0.5, 0.7, 'router-delete', () => {
        if (!r) return false;
        s.routers = s.routers.filter((x) => x !== r);
        s.floatingips = s.floatingips.filter((f) => f.router_id !== r.id);
        return true;
      }],
      [0.7, 1.5, 'router-toggle', () => !!r && ((r.admin_state_up = !r.admin_state_up), true)],
      [3, 1.5, 'port-add', () => {
        const net = this.pick(INTERNAL.filter((x) => !r?.interfaces.some((p) => p.network_id === x.id)));
        if (!r || !net) return false;
        r.interfaces.push(this.port(s, net, 1));
        return true;
      }],
      [1, 2, 'port-remove', () => {
        const p = this.pick(r?.interfaces ?? []);
        if (!r || !p) return false;
        r.interfaces = r.interfaces.filter((x) => x !== p);
        return true;
      }],
      [0.7, 1.5, 'port-toggle', () => {
        const p = this.pick(r?.interfaces ?? []);
        return !!p && ((p.admin_state_up = !p.admin_state_up), true);
      }],
      [1, 2.5, 'port-replumb', () => {
        // Re-plumbed under the same port id: a new address in its subnet, a new MAC.
        const p = this.pick(r?.interfaces ?? []);
        if (!p) return false;
        Object.assign(p, { ip_address: this.free(s, cidr(p), 1), mac_address: this.mac() });
        return true;
      }],
      [2, 1, 'gateway-set', () => {
        if (!r) return false;
        r.gateway = this.port(s, EXT, 10);
        return true;
      }],
      [0.4, 1, 'gateway-clear', () => {
        if (!r?.gateway) return false;
        r.gateway = null;
        s.floatingips = s.floatingips.filter((f) => f.router_id !== r.id);
        return true;
      }],
      [1, 2, 'gateway-replumb', () => {
        if (!r?.gateway) return false;
        r.gateway.ip_address = this.free(s, EXT.cidr, 10);
        return true;
      }],
      [4, 1.5, 'fip-add', () => {
        const p = this.pick(r?.interfaces ?? []);
        if (!r?.gateway || !p) return false;
        s.floatingips.push({ id: this.id(), floating_ip_address: this.free(s, EXT.cidr, 100), floating_network_id: EXT.id, fixed_ip_address: this.free(s, cidr(p), 30), router_id: r.id });
        return true;
      }],
      [0.7, 2, 'fip-delete', () => {
        const f = this.pick(s.floatingips);
        if (!f) return false;
        s.floatingips = s.floatingips.filter((x) => x !== f);
        return true;
      }],
      [1.5, 2, 'fip-remap', () => {
        // Remapped to another fixed IP behind the same router.
        const f = this.pick(s.floatingips);
        const owner = s.routers.find((x) => x.id === f?.router_id);
        const p = this.pick(owner?.interfaces ?? []);
        if (!f || !p) return false;
        f.fixed_ip_address = this.free(s, cidr(p), 30);
        return true;
      }],
      [3, 1.5, 'route-add', () => {
        const dst = this.pick(ROUTE_DSTS.filter((d) => !r?.routes.some((x) => x.destination === d)));
        const p = this.pick(r?.interfaces.filter((x) => x.admin_state_up) ?? []);
        if (!r || !dst || !p) return false;
        r.routes.push({ destination: dst, nexthop: host(cidr(p), 50 + Math.floor(this.rnd() * 5)) });
        return true;
      }],
      [1, 2, 'route-remove', () => {
        const x = this.pick(r?.routes ?? []);
        if (!r || !x) return false;
        r.routes = r.routes.filter((y) => y !== x);
        return true;
      }],
      // One change per config key, so that each shows up while churning (the metadata proxy starts and stops under every kind of router).
      ...([['send_arp_for_ha', '0', '3'], ['use_random_fully', 'false', 'true'], ['enable_metadata_proxy', 'false', 'true']] as const).map(
        ([k, a, b]): [number, number, string, () => boolean] => [0.4, 0.6, `config ${k}`, () => ((s.config[k] = s.config[k] === a ? b : a), true)],
      ),
    ];
    // While churning, a change not made yet is often tried first: every kind shows up.
    const unused = ops.filter((o) => !this.used.has(o[2]));
    if (!growing && unused.length && this.rnd() < 0.5) {
      const o = this.pick(unused)!;
      this.last = o[2];
      const done = o[3]();
      if (done) this.used.add(o[2]);
      return done;
    }
    const weight = (o: (typeof ops)[number]) => (growing ? o[0] : o[1]);
    let x = this.rnd() * ops.reduce((a, o) => a + weight(o), 0);
    for (const o of ops) {
      const [, , name, op] = o;
      x -= weight(o);
      if (x >= 0) continue;
      this.last = name;
      const done = op();
      if (done) this.used.add(name);
      return done;
    }
    return false;
  }
}

/**
 * What issue 10 asks validation to refuse on top of today's checkState:
 * an extra route whose nexthop is not on an admin-up port of its router
 * (item 7: the kernel refuses such a route), or whose destination overlaps
 * a subnet of the router (item 2).
 */
function intended(s: State): boolean {
  return s.routers.every((r) => r.routes.every((x) => {
    const up = r.interfaces.filter((p) => p.admin_state_up).map((p) => s.networks.find((n) => n.id === p.network_id)!.cidr);
    return up.some((c) => inCidr(c, x.nexthop)) && !r.interfaces.some((p) => p.ip_address === x.nexthop) && r.interfaces.every((p) => !overlaps(s.networks.find((n) => n.id === p.network_id)!.cidr, x.destination));
  }));
}
const overlaps = (a: string, b: string) => inCidr(a, b.split('/')[0]!) || inCidr(b, a.split('/')[0]!);

/** The changes that made each state, for the generator's own test. */
const madeBy = new WeakMap<State, string>();

function states(seed: number, count: number): State[] {
  const g = new Generator(prng(seed));
  let s = emptyState();
  s.config = { host_namespace: HOST, external_network_bridge: '', send_arp_for_ha: '3' };
  s.networks = [EXT, ...INTERNAL];
  s.routers.push({ id: g.id(), name: 'r0', admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null });
  const out: State[] = [];
  let tries = 0;
  while (out.length < count) {
    assert.ok(++tries < count * 100, 'the generator keeps making invalid states');
    const next = structuredClone(s);
    // The first half grows the world, the second half churns it.
    if (!g.step(next, out.length < count / 2)) continue;
    try {
      checkState(next);
    } catch {
      continue;
    }
    if (!intended(next)) continue;
    s = next;
    const copy = structuredClone(s);
    madeBy.set(copy, g.last);
    out.push(copy);
  }
  return out;
}

// ---- the expectation: the kernel this state asks for, in the fake's text ----

const short = (id: string) => id.slice(0, 11);
const bridgeOf = (netId: string) => `brq${short(netId)}`;
const SYSCTL_DEFAULTS = { 'net.bridge.bridge-nf-call-iptables': '1', 'net.ipv4.conf.all.arp_ignore': '0', 'net.ipv4.conf.all.promote_secondaries': '0', 'net.ipv4.ip_forward': '0', 'net.ipv6.conf.all.disable_ipv6': '0', 'net.ipv6.conf.default.disable_ipv6': '0' };
const sysctlLines = (v: Record<string, string>) => Object.entries(v).map(([k, x]) => `  sysctl ${k}=${x}`);
const LO = ['  link lo loopback up', '    inet 127.0.0.1/8 scope host'];
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const routeKey = (dst: string) => {
  const [ip, len] = dst === 'default' ? ['0.0.0.0', '0'] : dst.includes('/') ? dst.split('/') : [dst, '32'];
  return ipInt(ip!) * 64 + Number(len);
};

/**
 * The metadata proxy of a handled router, by the README: with
 * enable_metadata_proxy on (the default) and at least one internal port (one
 * that is up: a port set down is unplugged), one haproxy in the router's
 * namespace, its files in `<store>.d/routers/<router id>/`.
 */
const proxied = (s: State, r: Router) => s.config.enable_metadata_proxy !== 'false' && r.interfaces.some((p) => p.admin_state_up);
const proxyDir = (storePath: string, r: Router) => `${path.resolve(storePath)}.d/routers/${r.id}`;
const proxyArgv = (dir: string) => `haproxy -f ${dir}/haproxy.conf -p ${dir}/haproxy.pid -D`;

function expectedKernel(s: State, storePath: string): string {
  const cfg = { randomFully: s.config.use_random_fully !== 'false', metadata: s.config.enable_metadata_proxy !== 'false' };
  const net = (id: string) => s.networks.find((n) => n.id === id)!;
  const up = s.routers.filter((r) => r.admin_state_up);
  const ports = (r: Router) => [...r.interfaces.filter((p) => p.admin_state_up).map((p) => ({ p, dev: `qr-${short(p.id)}` })), ...(r.gateway ? [{ p: r.gateway, dev: `qg-${short(r.gateway.id)}` }] : [])];
  const out: string[] = [];

  out.push('netns (root)', ...LO, ...sysctlLines(SYSCTL_DEFAULTS));

  const hostLinks = [
    ...s.networks.map((n) => `  link ${bridgeOf(n.id)} bridge up`),
    ...up.flatMap((r) => ports(r).map(({ p, dev }) => `  link tap${short(p.id)} veth up master=${bridgeOf(p.network_id)} peer=${dev}@qrouter-${r.id}`)),
  ];
  out.push(`netns ${HOST}`, ...[...hostLinks, LO[0]!].sort(byText).flatMap((l) => (l === LO[0] ? LO : [l])), ...sysctlLines(SYSCTL_DEFAULTS));

  for (const r of [...up].sort((a, b) => byText(a.id, b.id))) {
    const ns = `qrouter-${r.id}`;
    const fips = r.gateway ? s.floatingips.filter((f) => f.router_id === r.id && f.fixed_ip_address).sort((a, b) => ipInt(a.floating_ip_address) - ipInt(b.floating_ip_address)) : [];
    const links = ports(r).map(({ p, dev }) => {
      const c = net(p.network_id).cidr;
      const addrs = [`${p.ip_address}/${cidrOf(c).len} brd ${bcast(c)}`, ...(dev.startsWith('qg-') ? fips.map((f) => `${f.floating_ip_address}/32 brd ${f.floating_ip_address}`) : [])];
      return { dev, text: [`  link ${dev} veth up peer=tap${short(p.id)}@${HOST} mac=${p.mac_address}`, ...addrs.sort(byText).map((a) => `    inet ${a} scope global`)] };
    });
    const routes = ports(r).map(({ p, dev }) => ({ dst: net(p.network_id).cidr, text: `${net(p.network_id).cidr} dev ${dev} proto kernel scope link src ${p.ip_address}` }));
    const qg = r.gateway ? `qg-${short(r.gateway.id)}` : null;
    if (r.gateway && qg) routes.push({ dst: 'default', text: `default via ${net(r.gateway.network_id).gateway_ip} dev ${qg}` });
    for (const x of r.routes) {
      const via = ports(r).find(({ p }) => inCidr(net(p.network_id).cidr, x.nexthop))!;
      const dst = x.destination.endsWith('/32') ? x.destination.slice(0, -3) : x.destination;
      routes.push({ dst, text: `${dst} via ${x.nexthop} dev ${via.dev}` });
    }
    out.push(
      `netns ${ns}`,
      ...[{ dev: 'lo', text: LO }, ...links].sort((a, b) => byText(a.dev, b.dev)).flatMap((l) => l.text),
      ...routes.sort((a, b) => routeKey(a.dst) - routeKey(b.dst)).map((x) => `  route ${x.text}`),
      ...sysctlLines({ ...SYSCTL_DEFAULTS, 'net.ipv4.conf.all.promote_secondaries': '1', 'net.ipv4.ip_forward': '1' }),
      ...iptables(r, fips.map((f) => ({ fip: f.floating_ip_address, fixed: f.fixed_ip_address! })), qg, cfg, s),
      ...(proxied(s, r) ? [`  process ${proxyArgv(proxyDir(storePath, r))}`] : []),
    );
  }
  // Only the proxies of routers handled now have files: a stopped one's are removed with its directory.
  const files = up
    .filter((r) => proxied(s, r))
    .map((r) => proxyDir(storePath, r))
    .sort(byText)
    .flatMap((d) => [`  dir ${d}`, ...['haproxy.conf', 'haproxy.loaded', 'haproxy.pid'].map((f) => `  file ${d}/${f}`)]);
  if (files.length) out.push('files', ...files);
  return out.join('\n') + '\n';
}

/** Our iptables section as agent-behaviour.md describes it, as the fake prints its tables. */
function iptables(r: Router, fips: { fip: string; fixed: string }[], qg: string | null, cfg: { randomFully: boolean; metadata: boolean }, s: State): string[] {
  const internal = r.interfaces.filter((p) => p.admin_state_up).map((p) => s.networks.find((n) => n.id === p.network_id)!.cidr).sort((a, b) => cidrOf(a).base - cidrOf(b).base);
  const rf = cfg.randomFully ? ' --random-fully' : '';
  const metadata = cfg.metadata && internal.length > 0;
  const gw = r.gateway?.ip_address;
  const chain = (name: string, rules: string[], policy?: string) => [`    chain ${name}${policy ? ` ${policy}` : ''}`, ...rules.map((x) => `      -A ${name} ${x}`)];
  return [
    '  table filter',
    ...chain('INPUT', ['-j l3ctl-INPUT'], 'ACCEPT'),
    ...chain('FORWARD', ['-j l3ctl-filter-top', '-j l3ctl-FORWARD'], 'ACCEPT'),
    ...chain('OUTPUT', ['-j l3ctl-filter-top', '-j l3ctl-OUTPUT'], 'ACCEPT'),
    ...chain('l3ctl-FORWARD', []),
    // 127.0.0.1 may reach the proxy; any other connection to its port that was not redirected is dropped.
    ...chain('l3ctl-INPUT', metadata ? ['-d 127.0.0.1/32 -p tcp -m tcp --dport 9697 -j ACCEPT', '-p tcp -m tcp --dport 9697 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP'] : []),
    ...chain('l3ctl-OUTPUT', []),
    ...chain('l3ctl-filter-top', ['-j l3ctl-local']),
    ...chain('l3ctl-local', []),
    '  table nat',
    ...chain('PREROUTING', ['-j l3ctl-PREROUTING'], 'ACCEPT'),
    ...chain('INPUT', [], 'ACCEPT'),
    ...chain('OUTPUT', ['-j l3ctl-OUTPUT'], 'ACCEPT'),
    ...chain('POSTROUTING', ['-j l3ctl-POSTROUTING', '-j l3ctl-postrouting-bottom'], 'ACCEPT'),
    ...chain('l3ctl-OUTPUT', fips.map((f) => `-d ${f.fip}/32 -j DNAT --to-destination ${f.fixed}`)),
    ...chain('l3ctl-POSTROUTING', qg ? [`! -i ${qg} ! -o ${qg} -m conntrack ! --ctstate DNAT -j ACCEPT`] : []),
    ...chain('l3ctl-PREROUTING', [
      ...(metadata ? ['-d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697'] : []),
      ...fips.map((f) => `-d ${f.fip}/32 -j DNAT --to-destination ${f.fixed}`),
    ]),
    ...chain('l3ctl-float-snat', fips.map((f) => `-s ${f.fixed}/32 -j SNAT --to-source ${f.fip}${rf}`)),
    ...chain('l3ctl-postrouting-bottom', ['-j l3ctl-snat']),
    ...chain('l3ctl-snat', ['-j l3ctl-float-snat', ...(qg ? [...internal.map((c) => `-s ${c} -j SNAT --to-source ${gw}${rf}`), `-o ${qg} -j SNAT --to-source ${gw}${rf}`] : [])]),
  ];
}

// ---- the replay ----

function shuffled<T>(xs: T[], rnd: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const describeState = (s: State) =>
  s.routers.map((r) => `${r.name}${r.admin_state_up ? '' : '(down)'}: ${r.interfaces.length} ports${r.gateway ? ', gw' : ''}, ${s.floatingips.filter((f) => f.router_id === r.id).length} fips, ${r.routes.length} routes`).join('; ') +
  ` [${Object.entries(s.config).filter(([k]) => k !== 'host_namespace').map(([k, v]) => `${k}=${v}`).join(' ')}]`;

async function replay(f: FakeSystem, seq: State[], label: string): Promise<void> {
  for (const [i, s] of seq.entries()) {
    const where = `${label}, state ${i + 1}/${seq.length}: ${describeState(s)}`;
    await converge(f, s);
    assert.equal(f.toString({ counters: false }), expectedKernel(s, f.storePath), where);
    const again = await replan(f, s);
    assert.deepEqual(again, [], `${where}: planning again is not empty`);
    f.verify();
  }
}

describe('replay of pseudorandom desired states', () => {
  const seq = states(SEED, STATES);

  it('the generator makes a varied, valid sequence', (t) => {
    for (const [i, s] of seq.entries()) t.diagnostic(`${i + 1}: ${madeBy.get(s)}: ${describeState(s)}`);
    assert.equal(seq.length, STATES);
    for (const s of seq) checkState(s);
    const seen = (p: (s: State) => boolean) => seq.filter(p).length;
    assert.ok(seen((s) => s.routers.length > 1) > 0, 'several routers');
    assert.ok(seen((s) => s.floatingips.length > 0) > 0, 'floating IPs');
    assert.ok(seen((s) => s.routers.some((r) => r.routes.length > 0)) > 0, 'extra routes');
    assert.ok(seen((s) => s.routers.some((r) => r.gateway)) > 0, 'gateways');
    assert.ok(seen((s) => s.routers.some((r) => !r.admin_state_up)) > 0, 'a disabled router');
    assert.ok(new Set(seq.map((s) => JSON.stringify(s.config))).size > 1, 'config changes');
    for (const [k, values] of [['send_arp_for_ha', ['0', '3']], ['use_random_fully', ['false', 'true']], ['enable_metadata_proxy', ['false', 'true']]] as const) {
      const defaults: Record<string, string> = { send_arp_for_ha: '3', use_random_fully: 'true', enable_metadata_proxy: 'true' };
      for (const v of values) assert.ok(seen((s) => (s.config[k] ?? defaults[k]) === v) > 0, `${k}=${v} in the sequence`);
    }
    const withPorts = (s: State) => s.routers.some((r) => r.admin_state_up && r.interfaces.some((p) => p.admin_state_up));
    assert.ok(seen((s) => s.routers.some((r) => r.admin_state_up && proxied(s, r))) > 0, 'a metadata proxy running');
    assert.ok(seen((s) => withPorts(s) && s.config.enable_metadata_proxy === 'false') > 0, 'internal ports with the proxy off');
    const kinds = new Set(seq.map((s) => madeBy.get(s)));
    for (const k of ['router-add', 'router-delete', 'router-toggle', 'port-add', 'port-remove', 'port-toggle', 'port-replumb', 'gateway-set', 'gateway-clear', 'gateway-replumb', 'fip-add', 'fip-delete', 'fip-remap', 'route-add', 'route-remove', 'config send_arp_for_ha', 'config use_random_fully', 'config enable_metadata_proxy']) {
      assert.ok(kinds.has(k), `no ${k} in the sequence`);
    }
  });

  it('in order: after each state the fake kernel is what the state asks for, and re-planning is empty', async () => {
    await replay(new FakeSystem(), seq, 'in order');
  });

  for (const k of [1, 2, 3]) {
    it(`shuffled (order ${k}): every state is reachable from any other`, async () => {
      await replay(new FakeSystem(), shuffled(seq, prng(SEED + k)), `shuffle ${k}`);
    });
  }

  it('the expectation can fail: a kernel one step behind is not the next state', async () => {
    const f = new FakeSystem();
    await converge(f, seq[0]!);
    const differs = seq.slice(1).find((s) => expectedKernel(s, f.storePath) !== expectedKernel(seq[0]!, f.storePath))!;
    assert.notEqual(f.toString({ counters: false }), expectedKernel(differs, f.storePath));
  });
});
