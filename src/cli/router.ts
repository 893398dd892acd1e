// `router add | delete | list | show | enable | disable | exec | set | standby`.
//
// `router list` must start as fast as a bare node: what only the other verbs
// need (validation, the agent, ids) is imported inside them.
import { effectiveConfig } from '../model/config.js';
import { L3ctlError, UsageError } from '../model/errors.js';
import type { Router, State } from '../model/types.js';
import { loadState } from '../store/store.js';
import { ROUTER_COLUMNS, ROUTER_LIST_COLUMNS, ROUTER_SHOW_COLUMNS } from './columns.js';
import type { IO } from './io.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { confirm } from './prompt.js';
import { findRouter } from './resolve.js';
import { routerView } from './views.js';

/** Floating IPs per router id: counted once for a whole list, not once per router. */
function fipCounts(s: State): Map<string, number> {
  const n = new Map<string, number>();
  for (const f of s.floatingips) if (f.router_id) n.set(f.router_id, (n.get(f.router_id) ?? 0) + 1);
  return n;
}

export const routerRow = (s: State, r: Router, fips = fipCounts(s)) => ({
  id: r.id,
  name: r.name,
  admin_state_up: r.admin_state_up,
  external_gateway_info: r.gateway
    ? { network_id: r.gateway.network_id, external_fixed_ips: r.gateway.fixed_ips.map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })) }
    : null,
  interfaces: r.interfaces.length,
  routes: r.routes.length,
  floating_ips: fips.get(r.id) ?? 0,
  ha: r.ha,
});

export interface RouterAddOptions {
  name: string;
  id?: string;
  disabled?: boolean;
  ha?: boolean;
}

export async function routerAdd(o: RouterAddOptions, io: IO): Promise<void> {
  const [{ checkName, checkUuid }, { newId }, { setRouterHa }] = await Promise.all([import('../model/validate.js'), import('./ids.js'), import('../model/ha.js')]);
  checkName('router', o.name);
  const id = o.id ? checkUuid('router id', o.id) : newId();
  const row = await mutate(io, (s) => {
    let r = s.routers.find((x) => x.name === o.name);
    if (r) {
      if ((o.id && r.id !== id) || (o.disabled && r.admin_state_up) || (o.ha && !r.ha)) {
        throw new UsageError(`a router named '${o.name}' already exists with a different definition`, `l3ctl router show ${o.name}`);
      }
    } else {
      if (s.routers.some((x) => x.id === id)) throw new UsageError(`router id ${id} is already used`);
      r = { id, name: o.name, admin_state_up: !o.disabled, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null };
      s.routers.push(r);
      if (o.ha) setRouterHa(s, r, true);
    }
    return { routers: [r.id], value: routerRow(s, r) };
  });
  if (row) await printObject(io, ROUTER_COLUMNS, row, { view: routerView(await loadState(io.storePath)) });
}

export async function routerDelete(o: { router: string[] }, io: IO): Promise<void> {
  const pre = await loadState(io.storePath);
  const busy = o.router.map((x) => findRouter(pre, x)).filter((r) => r.interfaces.length || r.gateway || pre.floatingips.some((f) => f.router_id === r.id));
  if (busy.length) await confirm(io, `Delete ${busy.map((r) => `'${r.name}'`).join(', ')} with ports or floating IPs?`);
  const names = await mutate(io, (s) => {
    // Once each, however many words name it.
    const rs = [...new Map(o.router.map((x) => findRouter(s, x)).map((r) => [r.id, r])).values()];
    const ids = new Set(rs.map((r) => r.id));
    s.routers = s.routers.filter((r) => !ids.has(r.id));
    for (const f of s.floatingips) {
      if (f.router_id && ids.has(f.router_id)) [f.router_id, f.fixed_ip_address] = [null, null];
    }
    // Their namespaces are disjoint: torn down at once.
    return { routers: [...ids], concurrent: true, value: rs.map((r) => r.name) };
  });
  if (names) io.status(`deleted router ${names.join(', ')}`);
}

export async function routerList(o: { long?: boolean }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  const fips = fipCounts(s);
  // keepalived's word on this node, read only when there are HA routers (legacy ones start fast).
  const ha = s.routers.some((r) => r.ha) ? await (await import('../agent/ha.js')).haReports(io, effectiveConfig(s.config), s.routers) : new Map<string, { ha_state: string | null }>();
  const rows: Record<string, unknown>[] = s.routers.map((r) => ({ ...routerRow(s, r, fips), ha_state: ha.get(r.id)?.ha_state ?? null }));
  if (!o.long) return printList(io, ROUTER_LIST_COLUMNS, rows, { view: routerView(s) });
  // --long looks at the kernel: a status from the store alone would only repeat admin_state_up.
  const { routerStatuses } = await import('../agent/status.js');
  const live = await routerStatuses(io, s, effectiveConfig(s.config));
  await printList(io, [...ROUTER_LIST_COLUMNS, 'status'], rows.map((r) => ({ ...r, status: live.get(r.id as string)?.status ?? 'ERROR' })), { view: routerView(s), long: true });
}

export async function routerShow(o: { router: string; all?: boolean }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  const r = findRouter(s, o.router);
  const { routerView } = await import('../agent/show.js');
  const v = await routerView(io, s, effectiveConfig(s.config), r);
  // Shared: the host namespace (use_namespaces false); null is the one l3ctl runs in.
  const ns = v.ns ?? '(host)';
  const texts = (side: { text: string }[]) => side.map((l) => l.text);
  const row = {
    ...routerRow(s, r),
    ha_state: v.ha?.state ?? null,
    ha_vr_id: r.ha_vr_id,
    namespace: ns,
    desired: { handled: v.handled, devices: texts(v.desired.devices), routes: texts(v.desired.routes), nat: texts(v.desired.nat), daemons: texts(v.desired.daemons) },
    live: { namespace: v.exists ? ns : null, devices: texts(v.live.devices), routes: texts(v.live.routes), nat: texts(v.live.nat), daemons: texts(v.live.daemons) },
    drift: v.findings,
    notices: v.notices,
  };
  if (io.format !== 'table' || io.columns.length) return printObject(io, ROUTER_SHOW_COLUMNS, row);
  const { headerLines, showSections, hanging: wrapped } = await import('./show-text.js');
  // Lines a finding of the plan names are marked '!' (and red on a colour terminal).
  const red = io.color ? new (await import('chalk')).Chalk({ level: 1 }).red : (t: string) => t;
  const width = io.width ?? null;
  const text = [
    ...headerLines([
      ['router', `${r.name} (${r.id})`],
      ['admin_state_up', String(r.admin_state_up)],
      ['handled', String(v.handled)],
      ...(v.ha ? [['ha', `${v.ha.state} (VRRP id ${v.ha.vrId}${v.ha.device ? `, ${v.ha.device} ${v.ha.address}` : ''})`] as [string, string]] : []),
      ['namespace', `${ns}${v.exists ? '' : ' (missing)'}`],
    ], width),
    ...showSections(v, { all: !!o.all, width, mark: red }),
    ...v.notices.map((n) => `notice: ${n}`),
    ...(v.findings.length ? ['drift (agent sync would change):', ...v.findings.flatMap((f) => wrapped(`  ${f.kind} `, f.object, width))] : ['drift: none']),
  ];
  io.out(text.join('\n'));
}

async function setAdminState(ref: string, up: boolean, io: IO): Promise<void> {
  const name = await mutate(io, (s) => {
    const r = findRouter(s, ref);
    r.admin_state_up = up;
    return { routers: [r.id], value: r.name };
  });
  if (name) io.status(`router ${name} ${up ? 'enabled' : 'disabled'}`);
}

export const routerEnable = (o: { router: string }, io: IO) => setAdminState(o.router, true, io);

/** A live router (up, its namespace there) is asked about: disabling tears it down. */
export async function routerDisable(o: { router: string }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  const r = findRouter(s, o.router);
  if (r.admin_state_up && !io.yes && !io.dryRun) {
    const { placement } = await import('../agent/desired.js');
    const ns = placement(effectiveConfig(s.config), r.id).ns;
    if (ns === null || (await io.runner.namespaces()).has(ns)) {
      await confirm(io, `Disable router '${r.name}' (torn down in the kernel, kept in the store)?`);
    }
  }
  await setAdminState(o.router, false, io);
}

/** The command's exit status (128+N for a signal death). */
export async function routerExec(o: { router: string; command: string[] }, io: IO): Promise<number> {
  const s = await loadState(io.storePath);
  const r = findRouter(s, o.router);
  // With use_namespaces false the router_id router lives in the host namespace.
  const { placement } = await import('../agent/desired.js');
  const ns = placement(effectiveConfig(s.config), r.id).ns;
  if (ns !== null && !(await io.runner.namespaces()).has(ns)) {
    // A router this host does not handle has no namespace by design: how to make it handled; else drift (exit 1).
    const { skipReason, skipFix } = await import('../agent/filters.js');
    const skip = skipReason(s, effectiveConfig(s.config), r);
    if (skip === 'admin-down') throw new UsageError(`router '${r.name}' is disabled: it has no namespace to run a command in`, skipFix(skip, r));
    if (skip !== null) throw new UsageError(`router '${r.name}' is not handled on this host (${skip}): it has no namespace to run a command in`, skipFix(skip, r));
    throw new L3ctlError(`namespace ${ns} of router '${r.name}' does not exist`, 1, 'l3ctl agent sync ' + r.name);
  }
  // Ctrl-C is the command's to answer (ping prints its summary); SIGTERM and
  // SIGHUP go on to it: l3ctl waits and passes its status on (runner.interactive).
  return await io.runner.interactive(ns ? ['ip', 'netns', 'exec', ns, ...o.command] : o.command);
}

export async function routerSet(o: { router: string; ha?: boolean }, io: IO): Promise<void> {
  if (o.ha === undefined) throw new UsageError('nothing to set', 'l3ctl router set ROUTER --ha | --no-ha');
  const { setRouterHa } = await import('../model/ha.js');
  const row = await mutate(io, (s) => {
    const r = findRouter(s, o.router);
    setRouterHa(s, r, o.ha!);
    return { routers: [r.id], value: routerRow(s, r) };
  });
  if (row) await printObject(io, ROUTER_COLUMNS, row, { view: routerView(await loadState(io.storePath)) });
}

export async function routerStandby(o: { router: string }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  const r = findRouter(s, o.router);
  const { standbyRouter } = await import('../agent/ha.js');
  const res = await standbyRouter(io, s, effectiveConfig(s.config), r);
  if (res.before !== 'master') return io.status(`router ${r.name} is ${res.before} on this node: nothing to hand over`);
  io.status(`router ${r.name}: handed over (addresses released in ${res.releasedMs} ms); this node is ${res.after}`);
}
