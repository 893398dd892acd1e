import type { Command } from 'commander';
import { placement } from '../agent/desired.js';
import { routerView, type ViewLine } from '../agent/show.js';
import { haReports, standbyRouter } from '../agent/ha.js';
import { setRouterHa } from '../model/ha.js';
import { effectiveConfig } from '../model/config.js';
import { L3ctlError, UsageError } from '../model/errors.js';
import type { Router, State } from '../model/types.js';
import { checkName, checkUuid } from '../model/validate.js';
import { loadState } from '../store/store.js';
import type { Context } from './context.js';
import { define, handler, noun } from './define.js';
import { newId } from './ids.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { confirm } from './prompt.js';
import { findRouter } from './resolve.js';

export const ROUTER_COLUMNS = ['id', 'name', 'admin_state_up', 'external_gateway_info', 'interfaces', 'routes', 'floating_ips', 'ha'];
/** `router list` and `show` also say what keepalived says on this node (read, not stored). */
export const ROUTER_LIST_COLUMNS = [...ROUTER_COLUMNS, 'ha_state'];

export const routerRow = (s: State, r: Router) => ({
  id: r.id,
  name: r.name,
  admin_state_up: r.admin_state_up,
  external_gateway_info: r.gateway
    ? { network_id: r.gateway.network_id, external_fixed_ips: [{ ip_address: r.gateway.ip_address }] }
    : null,
  interfaces: r.interfaces.length,
  routes: r.routes.length,
  floating_ips: s.floatingips.filter((f) => f.router_id === r.id).length,
  ha: r.ha,
});

async function showRouter(ctx: Context, s: State, r: Router) {
  const config = effectiveConfig(s.config);
  const v = await routerView(ctx, s, config, r);
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
  if (ctx.format === 'json') return ctx.out(JSON.stringify(row, null, 2));
  const cols = [...ROUTER_LIST_COLUMNS, 'ha_vr_id', 'namespace', 'desired', 'live', 'drift'];
  if (ctx.format === 'value' || ctx.columns.length) return printObject(ctx, cols, row);
  const lines = [
    ['router', `${r.name} (${r.id})`],
    ['admin_state_up', String(r.admin_state_up)],
    ['handled', String(v.handled)],
    ...(v.ha ? [['ha', `${v.ha.state} (VRRP id ${v.ha.vrId}${v.ha.device ? `, ${v.ha.device} ${v.ha.address}` : ''})`]] : []),
    ['namespace', `${ns}${v.exists ? '' : ' (missing)'}`],
  ];
  // One row per object of either side, so an object missing on one side never
  // shifts the rest; rows a finding of the plan names are marked '!' (and red
  // on a colour terminal).
  const red = ctx.color ? new (await import('chalk')).Chalk({ level: 1 }).red : (t: string) => t;
  const side = (title: string, a: ViewLine[], b: ViewLine[]) => {
    const w = Math.max(8, ...a.map((x) => x.text.length));
    const out = [`${title}:`, `  ${'desired'.padEnd(w)}  live`];
    const keys = [...new Set([...a.map((x) => x.key), ...b.map((x) => x.key)])].sort();
    for (const k of keys) {
      const x = a.find((l) => l.key === k)?.text ?? '';
      const y = b.find((l) => l.key === k)?.text ?? '';
      out.push(v.drifted.has(k) ? red(`! ${x.padEnd(w)}  ${y}`) : `  ${x.padEnd(w)}  ${y}`);
    }
    return out;
  };
  const text = [
    ...lines.map(([k, val]) => `${k!.padEnd(15)} ${val}`),
    ...side('devices', v.desired.devices, v.live.devices),
    ...side('routes', v.desired.routes, v.live.routes),
    ...side('nat', v.desired.nat, v.live.nat),
    ...side('daemons', v.desired.daemons, v.live.daemons),
    ...v.notices.map((n) => `notice: ${n}`),
    v.findings.length ? `drift (agent sync would change):\n${v.findings.map((f) => `  ${f.kind} ${f.object}`).join('\n')}` : 'drift: none',
  ];
  ctx.out(text.join('\n'));
}

export function register(program: Command): void {
  const router = noun(program, 'router', { summary: 'routers: one namespace each', examples: ['l3ctl router list'] });

  define(router, 'add <name>', { summary: 'add a router and build its namespace', examples: ['l3ctl router add r1'] })
    .option('--id <uuid>', 'use this id instead of a new one')
    .option('--disabled', 'keep it in the store only (admin state down)')
    .option('--ha', 'an HA router: keepalived (VRRP) on every node that has it elects the one holding its addresses (needs config ha_network)')
    .action(
      handler(async (ctx, o, name: string) => {
        checkName('router', name);
        const id = o.id ? checkUuid('router id', o.id) : newId();
        await mutate(ctx, (s) => {
          let r = s.routers.find((x) => x.name === name);
          if (r) {
            if ((o.id && r.id !== id) || (o.disabled && r.admin_state_up) || (o.ha && !r.ha)) {
              throw new UsageError(`a router named '${name}' already exists with a different definition`, `l3ctl router show ${name}`);
            }
          } else {
            if (s.routers.some((x) => x.id === id)) throw new UsageError(`router id ${id} is already used`);
            r = { id, name, admin_state_up: !o.disabled, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null };
            s.routers.push(r);
            if (o.ha) setRouterHa(s, r, true);
          }
          const rr = r;
          return { routers: [rr.id], print: () => printObject(ctx, ROUTER_COLUMNS, routerRow(s, rr)) };
        });
      }),
    );

  define(router, 'delete <router...>', {
    summary: 'delete routers: floating IPs are disassociated, ports and namespace removed',
    examples: ['l3ctl router delete r1', 'l3ctl router delete r1 r2 --yes'],
  }).action(
    handler(async (ctx, _o, refs: string[]) => {
      const pre = await loadState(ctx.storePath);
      const busy = refs.map((x) => findRouter(pre, x)).filter((r) => r.interfaces.length || r.gateway || pre.floatingips.some((f) => f.router_id === r.id));
      if (busy.length) await confirm(ctx, `Delete ${busy.map((r) => `'${r.name}'`).join(', ')} with ports or floating IPs?`);
      await mutate(ctx, (s) => {
        const rs = refs.map((x) => findRouter(s, x));
        const ids = new Set(rs.map((r) => r.id));
        s.routers = s.routers.filter((r) => !ids.has(r.id));
        for (const f of s.floatingips) {
          if (f.router_id && ids.has(f.router_id)) [f.router_id, f.fixed_ip_address] = [null, null];
        }
        return { routers: [...ids], concurrent: true, print: () => ctx.status(`deleted router ${rs.map((r) => r.name).join(', ')}`) };
      });
    }),
  );

  define(router, 'list', { summary: 'list routers (ha_state: what keepalived says of an HA router on this node)', examples: ['l3ctl router list -f value -c id -c name', 'l3ctl router list -c name -c ha_state'] }).action(
    handler(async (ctx) => {
      const s = await loadState(ctx.storePath);
      const ha = await haReports(ctx, effectiveConfig(s.config), s.routers);
      await printList(ctx, ROUTER_LIST_COLUMNS, s.routers.map((r) => ({ ...routerRow(s, r), ha_state: ha.get(r.id)?.ha_state ?? null })));
    }),
  );

  define(router, 'show <router>', { summary: 'desired and live kernel state side by side, drift marked', examples: ['l3ctl router show r1', 'l3ctl router show r1 -f json'] }).action(
    handler(async (ctx, _o, ref: string) => {
      const s = await loadState(ctx.storePath);
      await showRouter(ctx, s, findRouter(s, ref));
    }),
  );

  for (const [verb, up] of [['enable', true], ['disable', false]] as const) {
    define(router, `${verb} <router>`, {
      summary: up ? 'set admin state up and build the router in the kernel' : 'tear the router down in the kernel, keep it in the store',
      examples: [`l3ctl router ${verb} r1`],
    }).action(
      handler(async (ctx, _o, ref: string) => {
        await mutate(ctx, (s) => {
          const r = findRouter(s, ref);
          r.admin_state_up = up;
          return { routers: [r.id], print: () => ctx.status(`router ${r.name} ${up ? 'enabled' : 'disabled'}`) };
        });
      }),
    );
  }

  define(router, 'exec <router> <command...>', {
    summary: "run a command inside the router's namespace; its exit status is passed through",
    examples: ['l3ctl router exec r1 -- ping -c 1 203.0.113.1', 'l3ctl router exec r1 -- ip addr'],
  }).action(
    handler(async (ctx, _o, ref: string, argv: string[]) => {
      const s = await loadState(ctx.storePath);
      const r = findRouter(s, ref);
      // With use_namespaces false the router_id router lives in the host namespace.
      const ns = placement(effectiveConfig(s.config), r.id).ns;
      if (ns !== null && !(await ctx.runner.namespaces()).has(ns)) throw new L3ctlError(`namespace ${ns} of router '${r.name}' does not exist`, 1, 'l3ctl agent sync ' + r.name);
      process.exitCode = await ctx.runner.interactive(ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv);
    }),
  );

  define(router, 'set <router>', { summary: 'change a router: --ha / --no-ha while it has no ports', examples: ['l3ctl router set r1 --ha'] })
    .option('--ha', 'make it an HA router (a VRRP id is allocated)')
    .option('--no-ha', 'make it a legacy router')
    .action(
      handler(async (ctx, o, ref: string) => {
        if (o.ha === undefined) throw new UsageError('nothing to set', 'l3ctl router set ROUTER --ha | --no-ha');
        await mutate(ctx, (s) => {
          const r = findRouter(s, ref);
          setRouterHa(s, r, o.ha as boolean);
          return { routers: [r.id], print: () => printObject(ctx, ROUTER_COLUMNS, routerRow(s, r)) };
        });
      }),
    );

  define(router, 'standby <router>', {
    summary: 'hand an HA router over to a peer node: this node (the master) steps back to backup; keepalived keeps running',
    examples: ['l3ctl router standby r1'],
  }).action(
    handler(async (ctx, _o, ref: string) => {
      const s = await loadState(ctx.storePath);
      const r = findRouter(s, ref);
      const res = await standbyRouter(ctx, s, effectiveConfig(s.config), r);
      if (res.before !== 'master') return ctx.status(`router ${r.name} is ${res.before} on this node: nothing to hand over`);
      ctx.status(`router ${r.name}: handed over (addresses released in ${res.releasedMs} ms); this node is ${res.after}`);
    }),
  );
}
