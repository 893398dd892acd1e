// `diagnose`: the operator's checklist for "the floating IP does not work",
// one check per line in the order an expert looks, each with the command
// that re-runs it by hand and, where l3ctl knows it, the fix. It reads the
// same observations and plan as `agent check`; only --probe sends traffic,
// and only to addresses the router owns or serves.
import { contains, DEFAULT_DST } from '../model/addr.js';
import { haStatus, type HaStatus } from '../linux/keepalived.js';
import type { Config } from '../model/config.js';
import { isRouterDevice, namespaceName, routerIdOfNamespace } from '../model/names.js';
import type { FloatingIp, Router, State } from '../model/types.js';
import type { ObservedNs } from '../linux/observe.js';
import { observeHost } from '../linux/observe.js';
import {
  bridgeNetfilterLoaded, commands, conntrackCount, filterSave, iptablesBackend, neighbours, onPath, otherBackendSave, pingOnce, routeGet, sysctls,
} from '../linux/inspect.js';
import { parseSave } from '../linux/iptables.js';
import type { Runner } from '../linux/runner.js';
import type { System } from './pass.js';
import { addrsText, desiredRouter, placement, type DesiredRouter } from './desired.js';
import { skipFix, skipReason } from './filters.js';
import { observeRouter, planRouterFrom } from './pass.js';
import type { ObservedDaemon } from './daemons.js';
import { findingsOf } from './steps.js';

export type Status = 'ok' | 'warn' | 'FAIL';

export interface Check {
  check: string;
  status: Status;
  found: string;
  /** The command that re-runs this check by hand. */
  command: string;
  /** What repairs it, where l3ctl knows. */
  fix: string | null;
}

export interface Diagnosis {
  checks: Check[];
  /** One line: what is wrong first, or that all is well. */
  verdict: string;
  fix: string | null;
  failed: boolean;
}

const cmd = (argv: string[]) => argv.join(' ');
/**
 * diagnose host's bridge netfilter line, from what was read: with
 * bridge-nf-call-iptables 1, bridged traffic between VMs and routers passes
 * the FORWARD chain of the bridges' namespace. Harmless while that chain
 * accepts everything (`open`: no rule, policy ACCEPT), as in a host_namespace
 * of l3ctl's own; a warning otherwise.
 */
export function bridgeNetfilterCheck(hostNs: string | null, value: string | null, open: boolean, command: string): Check {
  const where = nsLabel(hostNs);
  if (value !== '1') return ok('bridge netfilter', `bridge-nf-call-iptables is ${value ?? 'absent'} in ${where}`, command);
  if (open) return ok('bridge netfilter', `bridge-nf-call-iptables is 1 in ${where}, whose FORWARD chain accepts everything (no rule, policy ACCEPT)`, command);
  return warn('bridge netfilter', `br_netfilter is loaded and bridge-nf-call-iptables is 1 in ${where}: bridged traffic between VMs and routers passes that namespace's FORWARD chain (a DROP policy there, as Docker sets, cuts it)`, command, hostNs ? null : 'set host_namespace so the bridges live in a namespace of their own');
}

/** No rule in FORWARD and policy ACCEPT, in `iptables-save -t filter` text. */
export function forwardAcceptsAll(save: string | null): boolean {
  if (save === null) return false;
  return /^:FORWARD ACCEPT /m.test(save) && !/^-A FORWARD /m.test(save);
}

const ok = (check: string, found: string, command: string): Check => ({ check, status: 'ok', found, command, fix: null });
const warn = (check: string, found: string, command: string, fix: string | null = null): Check => ({ check, status: 'warn', found, command, fix });
const fail = (check: string, found: string, command: string, fix: string | null): Check => ({ check, status: 'FAIL', found, command, fix });

export function verdictOf(checks: Check[], subject: string): Diagnosis {
  const first = checks.find((c) => c.status === 'FAIL');
  const warns = checks.filter((c) => c.status === 'warn').length;
  if (!first) return { checks, verdict: `${subject}: no problem found${warns ? ` (${warns} warning${warns > 1 ? 's' : ''})` : ''}`, fix: null, failed: false };
  return { checks, verdict: `${subject}: ${first.check}: ${first.found}`, fix: first.fix, failed: true };
}

const inNs = (ns: string | null, argv: string[]) => (ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv);
const ipIn = (ns: string | null, args: string[]) => (ns ? ['ip', '-n', ns, ...args] : ['ip', ...args]);
const nsLabel = (ns: string | null) => ns ?? 'the host namespace';

/** A rule of ours with its counters, from `iptables-save -c`. */
function ruleCounters(obs: ObservedNs, chain: string, rule: string): string | null {
  const line = (obs.iptables.ours.nat.chains[chain] ?? []).find((l) => l === rule);
  if (!line) return null;
  return obs.iptables.counters.nat.get(line) ?? '[0:0]';
}

const isOursInSave = (text: string) => {
  try {
    const p = parseSave(text);
    return [...Object.keys(p.ours.nat.chains), ...Object.keys(p.ours.filter.chains)];
  } catch {
    return [];
  }
};

interface RouterContext {
  sys: System;
  runner: Runner;
  state: State;
  config: Config;
  router: Router;
  sync: string;
}

const routerContext = (sys: System, state: State, config: Config, router: Router): RouterContext => ({ sys, runner: sys.runner, state, config, router, sync: `l3ctl agent sync ${router.name}` });

/** The checks every router-level diagnosis starts with; null obs: stop there. */
async function namespaceChecks(c: RouterContext, out: Check[]): Promise<{ c: RouterContext; runner: Runner; ns: string | null; obs: ObservedNs; d: DesiredRouter; daemons: ObservedDaemon[]; ha: HaStatus | null } | null> {
  const { state, config, router: r } = c;
  const skip = skipReason(state, config, r);
  if (skip !== null) {
    out.push(fail('router handled here', `router '${r.name}' is not handled on this host (${skip})`, `l3ctl router show ${r.name}`, skipFix(skip, r)));
    return null;
  }
  out.push(ok('router handled here', `router '${r.name}' (${r.id})`, `l3ctl router show ${r.name}`));
  const o = await observeRouter(c.sys, state, config, r.id);
  const place = placement(config, r.id);
  if (!o.obs.exists) {
    out.push(fail('router namespace', `${place.ns} does not exist`, 'ip netns list', c.sync));
    return null;
  }
  out.push(ok('router namespace', `${nsLabel(place.ns)} exists`, 'ip netns list'));
  const d = desiredRouter(state, config, r, o.node);
  // The classic silent failure: our rules in the backend the kernel does not use here.
  const { backend } = await iptablesBackend(c.runner);
  if (backend) {
    const other = await otherBackendSave(c.runner, place.ns, backend);
    const stray = other ? isOursInSave(other) : [];
    const tool = backend === 'nf_tables' ? 'iptables-legacy' : 'iptables-nft';
    const argv = backend === 'nf_tables' ? commands.legacySave(place.ns) : commands.nftSave(place.ns);
    if (stray.length) {
      const flush = ['nat', 'filter'].map((t) => cmd(inNs(place.ns, [tool, '-t', t, '-F']))).join(' && ') + ' && ' + ['nat', 'filter'].map((t) => cmd(inNs(place.ns, [tool, '-t', t, '-X']))).join(' && ');
      out.push(fail('iptables backend', `l3ctl chains in ${tool} (${stray.join(', ')}) while iptables uses ${backend}: two rule sets run`, cmd(argv), flush));
    } else {
      out.push(ok('iptables backend', `${backend}; no l3ctl chains in ${tool}`, cmd(argv)));
    }
  }
  const fwd = o.obs.sysctl.ipForward;
  out.push(fwd ? ok('ip_forward', 'net.ipv4.ip_forward = 1', cmd(commands.sysctl(place.ns, ['net.ipv4.ip_forward']))) : fail('ip_forward', 'net.ipv4.ip_forward is 0: the router forwards nothing', cmd(commands.sysctl(place.ns, ['net.ipv4.ip_forward'])), c.sync));
  // An HA router: its addresses are keepalived's, on the master only.
  const ha = r.ha ? haStatus(o.haStateText, !!o.daemons.find((x) => x.paths.kind === 'keepalived')?.seen.alive) : null;
  if (ha !== null) {
    const command = `l3ctl router show ${r.name}`;
    if (ha === 'master' || ha === 'backup') out.push(ok('HA state (keepalived)', `${ha} on this node, VRRP id ${r.ha_vr_id}`, command));
    else out.push(fail('HA state (keepalived)', ha === 'stopped' ? 'keepalived is not running: this node takes no part in the election' : `${ha} on this node`, command, c.sync));
  }
  return { c, runner: c.runner, ns: o.obs.ns, obs: o.obs, d, daemons: o.daemons, ha };
}

/** An HA router on a node that is not its master holds none of its addresses: nothing to check of them here. */
const notHolding = (d: DesiredRouter, ha: HaStatus | null, kind: string) => d.ha !== null && kind !== 'ha' && ha !== 'master';

/** keepalived's addresses on `device` of a node that is not the master: what `agent check` calls stale-ha-address. */
function staleHaAddrs(d: DesiredRouter, device: string, dev: { addrs: { local: string; prefixlen: number; scope: string }[] }): string[] {
  const have = new Set(dev.addrs.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`));
  return (d.ha?.owned ?? []).filter((a) => a.dev === device && have.has(a.cidr)).map((a) => a.cidr);
}

/** The line of a port whose addresses are keepalived's and this node is not the master: ok while it holds none of them. */
function notMasterPort(name: string, d: DesiredRouter, ha: HaStatus | null, device: string, dev: Parameters<typeof staleHaAddrs>[2], theirs: string, command: string, sync: string): Check {
  const stale = staleHaAddrs(d, device, dev);
  if (stale.length) return fail(name, `${device} still holds ${stale.join(' ')}, keepalived's, while this node is not the master (${ha}): stale (agent check: stale-ha-address)`, command, sync);
  return ok(name, `${device} up; ${theirs} is keepalived's, on the master (this node is ${ha})`, command);
}

function driftCheck(c: RouterContext, plans: ReturnType<typeof planRouterFrom>): Check {
  const findings = plans.flatMap(findingsOf);
  const command = `l3ctl agent check ${c.router.name}`;
  if (!findings.length) return ok('drift', 'the kernel matches the store', command);
  return fail('drift', `${findings.length} difference(s): ${findings.slice(0, 3).map((f) => `${f.kind} ${f.object}`).join('; ')}${findings.length > 3 ? '; …' : ''}`, command, c.sync);
}

async function defaultRouteChecks(c: RouterContext, obs: ObservedNs, d: DesiredRouter, out: Check[], neigh: Awaited<ReturnType<typeof neighbours>>) {
  const ns = obs.ns;
  const want = d.routes.find((r) => r.dst === DEFAULT_DST);
  if (!want) return;
  const have = obs.routes.find((r) => r.dst === DEFAULT_DST);
  const command = cmd(ipIn(ns, ['route', 'show', 'default']));
  if (!have) out.push(fail('default route', `no default route (want via ${want.via} dev ${want.dev})`, command, c.sync));
  else if (have.gateway !== want.via || have.dev !== want.dev) out.push(fail('default route', `via ${have.gateway} dev ${have.dev} (want via ${want.via} dev ${want.dev})`, command, c.sync));
  else out.push(ok('default route', `via ${want.via} dev ${want.dev}`, command));
  const n = neigh.get(want.via!);
  const ncmd = cmd(ipIn(ns, ['neigh', 'show', want.via!]));
  if (!n) out.push(warn('upstream gateway neighbour', `no entry for ${want.via} yet (nothing has left through it)`, ncmd));
  else if (/FAILED|INCOMPLETE/.test(n.state)) out.push(fail('upstream gateway neighbour', `${want.via} does not answer ARP (${n.state}) on ${n.dev}`, ncmd, `check the upstream gateway ${want.via} on the external network`));
  else out.push(ok('upstream gateway neighbour', `${want.via} ${n.mac ?? ''} ${n.state}`.replace(/ +/g, ' '), ncmd));
}

/** `answered`: what a probe ping just before the read found (null: no probe). */
function neighbourCheck(name: string, ip: string, ns: string | null, neigh: Awaited<ReturnType<typeof neighbours>>, whenMissing: string, answered: boolean | null = null): Check {
  const n = neigh.get(ip);
  const command = cmd(ipIn(ns, ['neigh', 'show', ip]));
  // The entry lags behind a machine that just went away (REACHABLE for ~30 s, then probed); the ping does not.
  if (answered === false && !(n && /FAILED|INCOMPLETE/.test(n.state))) {
    return fail(name, `${ip} does not answer a ping from the router (neighbour entry ${n ? `${n.state} on ${n.dev}` : 'none'}): is it up, on that network, with that address?`, command, `start the machine at ${ip} or fix its address`);
  }
  if (!n) return warn(name, `no entry for ${ip} yet: ${whenMissing}`, command);
  if (/FAILED|INCOMPLETE/.test(n.state)) return fail(name, `${ip} does not answer ARP (${n.state}) on ${n.dev}: is it up, on that network, with that address?`, command, `start the machine at ${ip} or fix its address`);
  return ok(name, `${ip} ${n.mac ?? ''} ${n.state} on ${n.dev}`.replace(/ +/g, ' '), command);
}

/** `diagnose fip FIP`. */
export async function diagnoseFip(sys: System, state: State, config: Config, f: FloatingIp, opts: { probe?: boolean } = {}): Promise<Diagnosis> {
  const out: Check[] = [];
  const subject = `floating IP ${f.floating_ip_address}`;
  const storeCmd = `l3ctl fip list -c floating_ip_address -c fixed_ip_address -c router_id`;
  const r = f.router_id ? state.routers.find((x) => x.id === f.router_id) : undefined;
  if (!f.fixed_ip_address || !r) {
    out.push(fail('floating IP in the store', `${f.floating_ip_address} is allocated but not associated with a fixed IP`, storeCmd, `l3ctl fip associate ${f.floating_ip_address} FIXED_IP`));
    return verdictOf(out, subject);
  }
  out.push(ok('floating IP in the store', `${f.floating_ip_address} -> ${f.fixed_ip_address} on router '${r.name}'`, storeCmd));
  const base = await namespaceChecks(routerContext(sys, state, config, r), out);
  if (!base) return verdictOf(out, subject);
  const { c, obs, d, runner, ns, ha } = base;
  const fip = f.floating_ip_address;
  const fixed = f.fixed_ip_address;

  const answered = opts.probe ? await pingOnce(runner, ns, fixed) : null; // also makes the neighbour entry below fresh

  const gw = d.gateway;
  const qg = gw ? obs.links.get(gw.device) : undefined;
  const qgCmd = gw ? cmd(ipIn(ns, ['addr', 'show', 'dev', gw.device])) : cmd(ipIn(ns, ['addr', 'show']));
  if (!gw || !qg) out.push(fail('gateway device', gw ? `${gw.device} is missing` : `router '${r.name}' has no gateway`, qgCmd, gw ? c.sync : `l3ctl gateway set ${r.name} NETWORK`));
  else if (!qg.up) out.push(fail('gateway device', `${gw.device} is down`, qgCmd, c.sync));
  else if (notHolding(d, ha, gw.kind)) out.push(notMasterPort('gateway device', d, ha, gw.device, qg, `${fip}/32`, qgCmd, c.sync));
  else if (!qg.addrs.some((a) => a.local === fip && a.prefixlen === 32)) out.push(fail('gateway device', `${gw.device} is up but lacks ${fip}/32: nothing answers ARP for the floating IP`, qgCmd, c.sync));
  else out.push(ok('gateway device', `${gw.device} up with ${fip}/32`, qgCmd));

  const natCmd = (chain: string) => cmd(inNs(ns, ['iptables', '-t', 'nat', '-nvL', chain]));
  for (const [chain, rule, what] of [
    ['l3ctl-PREROUTING', `-A l3ctl-PREROUTING -d ${fip}/32 -j DNAT --to-destination ${fixed}`, 'DNAT from outside'],
    ['l3ctl-OUTPUT', `-A l3ctl-OUTPUT -d ${fip}/32 -j DNAT --to-destination ${fixed}`, 'DNAT from the router itself'],
  ] as const) {
    const counters = ruleCounters(obs, chain, rule);
    out.push(counters ? ok(`${what} (${chain})`, `${fip} -> ${fixed}, packets:bytes ${counters.slice(1, -1)}`, natCmd(chain)) : fail(`${what} (${chain})`, `no DNAT rule ${fip} -> ${fixed}`, natCmd(chain), c.sync));
  }
  const snat = (obs.iptables.ours.nat.chains['l3ctl-float-snat'] ?? []).find((l) => l.startsWith(`-A l3ctl-float-snat -s ${fixed}/32 `) && l.includes(`--to-source ${fip}`));
  out.push(snat ? ok('SNAT to the floating IP (l3ctl-float-snat)', `${fixed} leaves as ${fip}, packets:bytes ${(obs.iptables.counters.nat.get(snat) ?? '[0:0]').slice(1, -1)}`, natCmd('l3ctl-float-snat')) : fail('SNAT to the floating IP (l3ctl-float-snat)', `no SNAT rule ${fixed} -> ${fip}`, natCmd('l3ctl-float-snat'), c.sync));

  const port = d.ports.find((p) => p.kind === 'internal' && p.addrs.some((a) => contains(a.cidr, fixed)));
  const portCidr = port?.addrs.find((a) => contains(a.cidr, fixed))?.cidr;
  const rg = await routeGet(runner, ns, fixed);
  const rgCmd = cmd(ipIn(ns, ['route', 'get', fixed]));
  if (!port) out.push(fail('fixed IP on a connected subnet', `${fixed} is on none of the router's internal subnets`, rgCmd, `l3ctl interface add ${r.name} NETWORK`));
  else if (!rg || rg.dev !== port.device || rg.via) out.push(fail('fixed IP on a connected subnet', `${fixed} leaves ${rg ? `via ${rg.via ?? '-'} dev ${rg.dev}` : 'nowhere (unreachable)'}, not on ${port.device}`, rgCmd, c.sync));
  else out.push(ok('fixed IP on a connected subnet', `${fixed} is on ${portCidr}, directly on ${port.device}`, rgCmd));

  const neigh = await neighbours(runner, ns);
  out.push(neighbourCheck('fixed IP neighbour', fixed, ns, neigh, 'nothing has talked to it yet (diagnose --probe pings it)', answered));
  await defaultRouteChecks(c, obs, d, out, neigh);

  const ct = await conntrackCount(runner, ns, fip, '-d');
  out.push(ct === null ? warn('conntrack entries', 'conntrack is not installed', 'command -v conntrack', 'apt-get install conntrack') : ok('conntrack entries', `${ct} connection(s) to ${fip}`, cmd(commands.conntrack(ns, fip, '-d'))));

  const arp = await sysctls(runner, ns, gw ? [`net.ipv4.conf.${gw.device}.arp_accept`] : []);
  const garp = config.send_arp_for_ha > 0;
  out.push(garp
    ? ok('gratuitous ARP', `send_arp_for_ha ${config.send_arp_for_ha}${gw ? `, arp_accept ${arp[`net.ipv4.conf.${gw.device}.arp_accept`] ?? '?'}` : ''}`, 'l3ctl config get send_arp_for_ha')
    : warn('gratuitous ARP', 'send_arp_for_ha 0: upstream learns a moved floating IP only when its ARP entry expires', 'l3ctl config get send_arp_for_ha', 'l3ctl config set send_arp_for_ha 3'));

  out.push(driftCheck(c, planRouterFrom(state, config, r.id, await observeRouter(sys, state, config, r.id))));

  if (opts.probe) {
    const pcmd = cmd(commands.ping(ns, fixed));
    out.push((await pingOnce(runner, ns, fixed)) ? ok('probe: ping the fixed IP from the router', `${fixed} answers`, pcmd) : fail('probe: ping the fixed IP from the router', `${fixed} does not answer`, pcmd, `check the machine at ${fixed}`));
    const rule = `-A l3ctl-OUTPUT -d ${fip}/32 -j DNAT --to-destination ${fixed}`;
    const before = Number(/^\[(\d+):/.exec(ruleCounters(obs, 'l3ctl-OUTPUT', rule) ?? '')?.[1] ?? -1);
    const answered = await pingOnce(runner, ns, fip);
    const after = await observeRouter(sys, state, config, r.id);
    const now = Number(/^\[(\d+):/.exec(ruleCounters(after.obs, 'l3ctl-OUTPUT', rule) ?? '')?.[1] ?? -1);
    const fcmd = cmd(commands.ping(ns, fip));
    if (before < 0 || now < 0) out.push(fail('probe: traffic to the floating IP', 'no DNAT rule to count it', fcmd, c.sync));
    else if (now > before) out.push((answered ? ok : (a: string, b: string, x: string) => warn(a, b, x))('probe: traffic to the floating IP', `DNAT counter moved ${before} -> ${now}${answered ? `; ${fixed} answered` : `; no answer from ${fixed}`}`, fcmd));
    else out.push(fail('probe: traffic to the floating IP', `DNAT counter did not move (${before})`, fcmd, c.sync));
  }
  return verdictOf(out, subject);
}

/** `diagnose router ROUTER`. */
export async function diagnoseRouter(sys: System, state: State, config: Config, r: Router, opts: { probe?: boolean } = {}): Promise<Diagnosis> {
  const out: Check[] = [];
  const subject = `router ${r.name}`;
  const base = await namespaceChecks(routerContext(sys, state, config, r), out);
  if (!base) return verdictOf(out, subject);
  const { c, obs, d, runner, ns, ha } = base;
  const host = await observeHost(runner, config.host_namespace);
  for (const p of d.ports) {
    const dev = obs.links.get(p.device);
    const command = cmd(ipIn(ns, ['addr', 'show', 'dev', p.device]));
    const what = `${p.kind} port ${p.device}`;
    if (!dev) out.push(fail(what, `${p.device} is missing`, command, c.sync));
    else if (!dev.up) out.push(fail(what, `${p.device} is down`, command, c.sync));
    else if (notHolding(d, ha, p.kind)) out.push(notMasterPort(what, d, ha, p.device, dev, addrsText(p.addrs), command, c.sync));
    else {
      const lacks = p.addrs.filter((w) => !dev.addrs.some((a) => a.local === w.ip && a.prefixlen === w.prefixlen));
      if (lacks.length) out.push(fail(what, `${p.device} lacks ${addrsText(lacks)}`, command, c.sync));
      else out.push(ok(what, `${p.device} up with ${addrsText(p.addrs)}`, command));
    }
    const tap = host.links.get(p.tap);
    const bcmd = cmd(ipIn(config.host_namespace, ['link', 'show', p.tap]));
    if (!host.links.get(p.bridge)) out.push(fail(`bridge of ${p.device}`, `bridge ${p.bridge} is missing`, cmd(ipIn(config.host_namespace, ['link', 'show', p.bridge])), p.bridgeMustExist ? `create ${p.bridge}, or: l3ctl config set external_network_bridge ''` : c.sync));
    else if (tap && tap.master !== p.bridge) out.push(fail(`bridge of ${p.device}`, `${p.tap} is on ${tap.master ?? 'no bridge'}, not ${p.bridge}`, bcmd, c.sync));
    else if (tap) out.push(ok(`bridge of ${p.device}`, `${p.tap} on ${p.bridge}`, bcmd));
  }
  if (opts.probe) for (const f of d.fips) await pingOnce(runner, ns, f.fixed);
  const neigh = await neighbours(runner, ns);
  await defaultRouteChecks(c, obs, d, out, neigh);
  for (const rt of d.routes.filter((x) => x.via && x.dst !== DEFAULT_DST)) {
    const rg = await routeGet(runner, ns, rt.via!);
    const command = cmd(ipIn(ns, ['route', 'get', rt.via!]));
    if (!rg || rg.via) out.push(fail(`nexthop of ${rt.dst}`, `${rt.via} is not on a connected subnet (${rg ? `via ${rg.via}` : 'unreachable'})`, command, c.sync));
    else out.push(neighbourCheck(`nexthop of ${rt.dst}`, rt.via!, ns, neigh, 'nothing has been routed through it yet'));
  }
  for (const want of d.daemons) {
    const seen = base.daemons.find((x) => x.paths.kind === want.kind)?.seen;
    const command = seen?.pid ? `ps -o pid,args -p ${seen.pid}` : `cat ${base.daemons.find((x) => x.paths.kind === want.kind)?.paths.pidPath ?? 'PIDFILE'}`;
    if (!seen?.alive) out.push(fail(want.role, seen?.why ?? `${want.kind} is not running`, command, c.sync));
    else out.push(want.notice ? warn(want.role, `running (pid ${seen.pid}); ${want.notice}`, command) : ok(want.role, `running (pid ${seen.pid})`, command));
  }
  out.push(driftCheck(c, planRouterFrom(state, config, r.id, await observeRouter(sys, state, config, r.id))));
  if (opts.probe) {
    for (const f of d.fips) {
      const pcmd = cmd(commands.ping(ns, f.fixed));
      out.push((await pingOnce(runner, ns, f.fixed)) ? ok(`probe: ping ${f.fixed}`, `${f.fixed} (behind ${f.fip}) answers`, pcmd) : fail(`probe: ping ${f.fixed}`, `${f.fixed} (behind ${f.fip}) does not answer`, pcmd, `check the machine at ${f.fixed}`));
    }
  }
  return verdictOf(out, subject);
}

/** A program l3ctl runs and the Debian package that has it. */
export type Program = [program: string, pkg: string];

/** The programs this store and configuration make l3ctl run: the daemons and drivers only when something needs them. */
export function requiredPrograms(state: State, config: Config): Program[] {
  const programs: Program[] = [['ip', 'iproute2'], ['iptables', 'iptables'], ['iptables-save', 'iptables'], ['iptables-restore', 'iptables'], ['sysctl', 'procps'], ['arping', 'iputils-arping'], ['conntrack', 'conntrack']];
  if (config.enable_metadata_proxy) programs.push(['haproxy', 'haproxy']);
  if (state.routers.some((r) => r.ha)) programs.push(['keepalived', 'keepalived']);
  if (state.networks.some((n) => n.subnets.some((sn) => sn.ipv6_ra_mode !== null))) programs.push(['radvd', 'radvd']);
  if (config.interface_driver === 'ovs') programs.push(['ovs-vsctl', 'openvswitch-switch']);
  return programs;
}

/** The `required programs` line: FAIL naming the missing ones and their packages. */
export function programsCheck(programs: Program[], installed: (program: string) => boolean): Check {
  const missing = programs.filter(([p]) => !installed(p));
  const command = `command -v ${programs.map(([p]) => p).join(' ')}`;
  return missing.length
    ? fail('required programs', `missing: ${missing.map(([p]) => p).join(', ')}`, command, `apt-get install ${[...new Set(missing.map(([, pkg]) => pkg))].join(' ')}`)
    : ok('required programs', programs.map(([p]) => p).join(', '), command);
}

export interface HostFacts {
  storePath: string;
  /** The pid holding the store lock, or null when it is free. */
  lockHolder: number | null;
  lockHolderAlive: boolean;
  storeReadable: boolean;
  storeError?: string;
}

/** `diagnose host`. */
export async function diagnoseHost(sys: System, state: State, config: Config, facts: HostFacts): Promise<Diagnosis> {
  const out: Check[] = [];
  const runner = sys.runner;
  const { version, backend } = await iptablesBackend(runner);
  out.push(backend ? ok('iptables backend', `iptables ${version} (${backend})`, 'iptables --version') : fail('iptables backend', 'iptables is not installed', 'iptables --version', 'apt-get install iptables'));
  if (backend) {
    const tool = backend === 'nf_tables' ? 'iptables-legacy' : 'iptables-nft';
    const spaces = [config.host_namespace, ...state.routers.map((r) => placement(config, r.id).ns).filter((n): n is string => n !== null)];
    const present = await runner.namespaces();
    const stray: string[] = [];
    for (const ns of [...new Set(spaces)]) {
      if (ns !== null && !present.has(ns)) continue;
      const text = await otherBackendSave(runner, ns, backend);
      if (text && isOursInSave(text).length) stray.push(nsLabel(ns));
    }
    const command = cmd([backend === 'nf_tables' ? 'iptables-legacy-save' : 'iptables-nft-save']);
    out.push(stray.length ? fail(`l3ctl rules in ${tool}`, `l3ctl chains in the unused backend in ${stray.join(', ')}`, command, `l3ctl diagnose router ROUTER names the commands that remove them`) : ok(`l3ctl rules in ${tool}`, 'none', command));
  }
  const brnf = bridgeNetfilterLoaded();
  const hostNs = config.host_namespace;
  if (!brnf) out.push(ok('bridge netfilter', 'br_netfilter is not loaded: bridged traffic skips iptables', 'lsmod | grep br_netfilter'));
  else {
    const v = (await sysctls(runner, hostNs, ['net.bridge.bridge-nf-call-iptables']))['net.bridge.bridge-nf-call-iptables'] ?? null;
    // l3ctl's own host_namespace: its FORWARD chain is read, as it is what bridged traffic passes.
    const open = v === '1' && hostNs !== null ? forwardAcceptsAll(await filterSave(runner, hostNs)) : false;
    out.push(bridgeNetfilterCheck(hostNs, v, open, cmd(commands.sysctl(hostNs, ['net.bridge.bridge-nf-call-iptables']))));
  }
  const host = await observeHost(runner, hostNs);
  if (config.external_network_bridge) {
    const command = cmd(ipIn(hostNs, ['link', 'show', config.external_network_bridge]));
    out.push(host.links.has(config.external_network_bridge)
      ? ok('external network bridge', `${config.external_network_bridge} exists`, command)
      : fail('external network bridge', `${config.external_network_bridge} (external_network_bridge) does not exist${hostNs ? ` in ${hostNs}` : ''}: gateways cannot be plugged`, command, "l3ctl config set external_network_bridge ''"));
  }
  out.push(programsCheck(requiredPrograms(state, config), onPath));
  out.push(facts.storeReadable ? ok('store', `${facts.storePath} is readable and valid`, `l3ctl --store ${facts.storePath} router list`) : fail('store', facts.storeError ?? `${facts.storePath} cannot be read`, `l3ctl --store ${facts.storePath} router list`, null));
  if (facts.lockHolder === null) out.push(ok('store lock', 'free', `ls -l ${facts.storePath}.lock`));
  else if (facts.lockHolderAlive) out.push(warn('store lock', `held by pid ${facts.lockHolder}, which is running`, `ps -p ${facts.lockHolder}`));
  else out.push(warn('store lock', `held by pid ${facts.lockHolder}, which is gone: the next command takes it over`, `ps -p ${facts.lockHolder}`));
  const managed = new Set(state.routers.map((r) => namespaceName(r.id)));
  const stale = [...(await runner.namespaces())].filter((ns) => routerIdOfNamespace(ns) !== null && !managed.has(ns)).sort();
  out.push(stale.length
    ? warn('router namespaces', `${stale.length} qrouter- namespace(s) no stored router owns: ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}`, 'ip netns list', 'l3ctl agent cleanup')
    : ok('router namespaces', 'every qrouter- namespace belongs to a stored router', 'ip netns list'));
  // Our own devices only matter in a router namespace; none in the bridges' namespace.
  const strays = [...host.links.keys()].filter(isRouterDevice);
  if (strays.length && config.use_namespaces) out.push(warn('stray router devices', `${strays.join(', ')} in ${nsLabel(hostNs)}`, cmd(ipIn(hostNs, ['link', 'show'])), 'l3ctl agent sync'));
  return verdictOf(out, 'host');
}
