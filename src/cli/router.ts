import type { Command } from 'commander';
import { planRouterPass } from '../agent/converge.js';
import { isEmptyPlan, type Plan } from '../agent/plan.js';
import { desiredSection, parseSave, TABLES, type Section } from '../agent/nat.js';
import { desiredRouter, placement } from '../agent/desired.js';
import { skipReason } from '../agent/filters.js';
import { effectiveConfig } from '../model/config.js';
import { L3ctlError, UsageError } from '../model/errors.js';
import { isRouterDevice, namespaceName } from '../model/names.js';
import type { Router, State } from '../model/types.js';
import { checkName, checkUuid } from '../model/validate.js';
import { execInNamespace } from '../linux/exec.js';
import { listNamespaces, observeRouterNs } from '../linux/observe.js';
import { loadState } from '../store/store.js';
import type { Context } from './context.js';
import { define, handler, noun } from './define.js';
import { newId } from './ids.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { confirm } from './prompt.js';
import { findRouter } from './resolve.js';

export const ROUTER_COLUMNS = ['id', 'name', 'admin_state_up', 'external_gateway_info', 'interfaces', 'routes', 'floating_ips'];

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
});

function planLines(p: Plan): string[] {
  return [
    ...p.createNamespaces.map((n) => `netns add ${n}`),
    ...p.hostBatch.map((l) => `host: ${l}`),
    ...p.routerBatch,
    ...(p.restore ? ['iptables-restore (NAT rules differ)'] : []),
    ...p.fipBatch,
    ...(p.setForwarding ? ['sysctl net.ipv4.ip_forward=1'] : []),
    ...p.conntrack.map((c) => `conntrack flush ${c.fip} -> ${c.fixed}`),
    ...(p.deleteNamespace ? ['netns del'] : []),
  ];
}

// Extra routes name no device (the kernel picks it), so only the default route shows one.
const routeText = (dst: string, via: string, dev: string | null) => `${dst} via ${via}${dst === 'default' && dev ? ` dev ${dev}` : ''}`;

/** Our rules as iptables-save prints them, table first: jumps from built-in chains, then our chains. */
function sectionLines(sec: Section): string[] {
  return TABLES.flatMap((t) => [
    ...Object.values(sec[t].jumps).flat().map((j) => j.rule),
    ...Object.values(sec[t].chains).flat(),
  ].map((rule) => `-t ${t} ${rule}`));
}

async function showRouter(ctx: Context, s: State, r: Router) {
  const config = effectiveConfig(s.config);
  const place = placement(config, r.id);
  // Shared: the host namespace (use_namespaces false); null is the one l3ctl runs in.
  const ns = place.ns ?? '(host)';
  const obs = await observeRouterNs(ctx.runner, place.ns);
  const skip = skipReason(s, config, r);
  const plan = await planRouterPass(ctx.runner, s, config, r.id);
  const desired = skip === null ? desiredRouter(s, config, r) : null;
  const live = {
    namespace: obs.exists ? ns : null,
    devices: [...obs.links.values()].filter((l) => isRouterDevice(l.name)).map((l) => ({
      name: l.name,
      mac: l.mac,
      up: l.up,
      addresses: l.addrs.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
    })),
    routes: obs.routes.filter((x) => x.gateway).map((x) => routeText(x.dst, x.gateway!, x.dev)),
    nat: obs.exists ? sectionLines(parseSave(obs.iptablesSave).ours) : [],
    drift: isEmptyPlan(plan) ? [] : planLines(plan),
  };
  const want = {
    handled: skip === null ? true : `no (${skip})`,
    devices: (desired?.ports ?? []).map((p) => ({ name: p.device, mac: p.mac, addresses: [`${p.ip}/${p.prefixlen}`, ...(p.kind === 'gateway' ? desired!.fips.map((f) => `${f.fip}/32`) : [])] })),
    routes: (desired?.routes ?? []).map((x) => routeText(x.dst, x.via, x.dev)),
    nat: desired ? sectionLines(desiredSection(desired.nat)) : [],
  };
  const row = { ...routerRow(s, r), namespace: ns, desired: want, live };
  if (ctx.format === 'json') return ctx.out(JSON.stringify(row, null, 2));
  const cols = [...ROUTER_COLUMNS, 'namespace', 'desired', 'live'];
  if (ctx.format === 'value' || ctx.columns.length) return printObject(ctx, cols, row);
  const fmt = (d: { name: string; addresses: string[] }[]) => d.map((x) => `${x.name} ${x.addresses.join(' ')}`);
  const lines = [
    ['router', `${r.name} (${r.id})`],
    ['admin_state_up', String(r.admin_state_up)],
    ['handled', String(want.handled)],
    ['namespace', `${ns}${obs.exists ? '' : ' (missing)'}`],
  ];
  // One row per line of either side, so a line missing on one side never
  // shifts the rest; drift rows are marked '!' (and red on a colour terminal).
  const red = ctx.color ? new (await import('chalk')).Chalk({ level: 1 }).red : (t: string) => t;
  const side = (title: string, a: string[], b: string[]) => {
    const w = Math.max(8, ...a.map((x) => x.length));
    const out = [`${title}:`, `  ${'desired'.padEnd(w)}  live`];
    for (const line of [...new Set([...a, ...b])].sort()) {
      const [x, y] = [a.includes(line) ? line : '', b.includes(line) ? line : ''];
      out.push(x && y ? `  ${x.padEnd(w)}  ${y}` : red(`! ${x.padEnd(w)}  ${y}`));
    }
    return out;
  };
  const text = [
    ...lines.map(([k, v]) => `${k!.padEnd(15)} ${v}`),
    ...side('devices', fmt(want.devices), fmt(live.devices)),
    ...side('routes', want.routes, live.routes),
    ...side('nat', want.nat, live.nat),
    live.drift.length ? `drift (agent sync would run):\n${live.drift.map((l) => `  ${l}`).join('\n')}` : 'drift: none',
  ];
  ctx.out(text.join('\n'));
}

export function register(program: Command): void {
  const router = noun(program, 'router', { summary: 'routers: one namespace each', examples: ['l3ctl router list'] });

  define(router, 'add <name>', { summary: 'add a router and build its namespace', examples: ['l3ctl router add r1'] })
    .option('--id <uuid>', 'use this id instead of a new one')
    .option('--disabled', 'keep it in the store only (admin state down)')
    .action(
      handler(async (ctx, o, name: string) => {
        checkName('router', name);
        const id = o.id ? checkUuid('router id', o.id) : newId();
        await mutate(ctx, (s) => {
          let r = s.routers.find((x) => x.name === name);
          if (r) {
            if ((o.id && r.id !== id) || (o.disabled && r.admin_state_up)) {
              throw new UsageError(`a router named '${name}' already exists with a different definition`, `l3ctl router show ${name}`);
            }
          } else {
            if (s.routers.some((x) => x.id === id)) throw new UsageError(`router id ${id} is already used`);
            r = { id, name, admin_state_up: !o.disabled, gateway: null, interfaces: [], routes: [] };
            s.routers.push(r);
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

  define(router, 'list', { summary: 'list routers', examples: ['l3ctl router list -f value -c id -c name'] }).action(
    handler(async (ctx) => {
      const s = await loadState(ctx.storePath);
      await printList(ctx, ROUTER_COLUMNS, s.routers.map((r) => routerRow(s, r)));
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
      const ns = namespaceName(r.id);
      if (!listNamespaces().has(ns)) throw new L3ctlError(`namespace ${ns} of router '${r.name}' does not exist`, 1, 'l3ctl agent sync ' + r.name);
      if (ctx.dryRun) return ctx.out(`+ ip netns exec ${ns} ${argv.join(' ')}`);
      process.exitCode = await execInNamespace(ns, argv);
    }),
  );
}
