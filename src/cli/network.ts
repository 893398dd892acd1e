import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { firstFree, parseCidr } from '../model/addr.js';
import { UsageError } from '../model/errors.js';
import { networkBridge } from '../model/names.js';
import type { Network, State } from '../model/types.js';
import { checkCidr, checkIp, checkName, checkUuid } from '../model/validate.js';
import { loadState } from '../store/store.js';
import { define, handler, noun } from './define.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { findNetwork } from './resolve.js';
import { confirm } from './prompt.js';

export const NETWORK_COLUMNS = ['id', 'name', 'cidr', 'gateway_ip', 'router:external', 'bridge'];

export const networkRow = (n: Network) => ({
  id: n.id,
  name: n.name,
  cidr: n.cidr,
  gateway_ip: n.gateway_ip,
  'router:external': n.external,
  bridge: networkBridge(n),
});

function usedBy(s: State, n: Network): string[] {
  const out: string[] = [];
  for (const r of s.routers) {
    if (r.gateway?.network_id === n.id || r.interfaces.some((p) => p.network_id === n.id)) out.push(`router ${r.name}`);
  }
  for (const f of s.floatingips) if (f.floating_network_id === n.id) out.push(`floating IP ${f.floating_ip_address}`);
  return out;
}

function refuseInUse(s: State, n: Network): void {
  const users = usedBy(s, n);
  if (users.length) throw new UsageError(`network '${n.name}' is in use by ${users.join(', ')}: expected a network no router or floating IP uses`, 'remove those first (l3ctl interface remove / gateway clear / fip delete)');
}

export function register(program: Command): void {
  const net = noun(program, 'network', { summary: 'networks and their subnet (one IPv4 subnet each)', examples: ['l3ctl network list'] });

  define(net, 'add <name>', {
    summary: 'add a network with one subnet; creates its bridge',
    examples: ['l3ctl network add ext --cidr 203.0.113.0/24 --gateway-ip 203.0.113.1 --external', 'l3ctl network add priv --cidr 198.51.100.0/24'],
  })
    .requiredOption('--cidr <cidr>', 'the subnet, e.g. 198.51.100.0/24')
    .option('--gateway-ip <ip>', "the subnet's gateway address, or 'none' (default: first host)")
    .option('--external', 'an external network: router gateways and floating IPs live on it')
    .option('--bridge <bridge>', 'plug ports into this bridge instead of brq<id>')
    .option('--id <uuid>', 'use this id instead of a new one')
    .action(
      handler(async (ctx, o, name: string) => {
        checkName('network', name);
        const cidr = checkCidr('CIDR', o.cidr);
        if (parseCidr(o.cidr)!.addr !== cidr.split('/')[0]) ctx.warn(`${o.cidr} has host bits set; using ${cidr}`);
        let gw: string | null;
        if (o.gatewayIp === 'none') gw = null;
        else if (o.gatewayIp !== undefined) gw = checkIp('gateway IP', o.gatewayIp);
        else gw = firstFree(cidr, []);
        if (o.bridge !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(o.bridge)) {
          throw new UsageError(`invalid bridge name '${o.bridge}': expected 1-15 characters of A-Z a-z 0-9 _ . -`);
        }
        const id = o.id ? checkUuid('network id', o.id) : randomUUID();
        const want: Network = { id, name, cidr, gateway_ip: gw, external: !!o.external, bridge: o.bridge ?? null };
        let result = want;
        await mutate(ctx, (s) => {
          const same = s.networks.find((n) => n.name === name);
          if (same) {
            // Re-running the same definition is fine; a different one is a conflict.
            const sameDef = same.cidr === want.cidr && same.gateway_ip === want.gateway_ip && same.external === want.external &&
              same.bridge === want.bridge && (!o.id || same.id === id);
            if (!sameDef) throw new UsageError(`a network named '${name}' already exists with a different definition`, `l3ctl network show ${name}`);
            result = same;
            return { bridges: true, print: () => printObject(ctx, NETWORK_COLUMNS, networkRow(result)) };
          }
          s.networks.push(want);
          return { bridges: true, print: () => printObject(ctx, NETWORK_COLUMNS, networkRow(result)) };
        });
      }),
    );

  define(net, 'delete <network>', {
    summary: 'delete a network and its bridge (refused while a router or floating IP uses it, or while devices l3ctl did not plug in are on the bridge)',
    examples: ['l3ctl network delete priv'],
  })
    .option('--force', 'delete the bridge even with devices l3ctl did not plug in on it (they stay, unplugged)')
    .action(
      handler(async (ctx, o, ref: string) => {
        const pre = await loadState(ctx.storePath);
        const n0 = findNetwork(pre, ref);
        // In use is exit 2 whether or not there is a terminal to confirm on.
        refuseInUse(pre, n0);
        await confirm(ctx, `Delete network '${n0.name}' (${n0.cidr})?`);
        await mutate(ctx, (s) => {
          const n = findNetwork(s, ref);
          refuseInUse(s, n);
          s.networks = s.networks.filter((x) => x.id !== n.id);
          return { removedNetworks: [n], unplugForeign: !!o.force, print: () => ctx.status(`deleted network ${n.name}`) };
        });
      }),
    );

  define(net, 'list', { summary: 'list networks', examples: ['l3ctl network list -f value -c name -c cidr'] }).action(
    handler(async (ctx) => {
      const s = await loadState(ctx.storePath);
      await printList(ctx, NETWORK_COLUMNS, s.networks.map(networkRow));
    }),
  );

  define(net, 'show <network>', { summary: 'show one network', examples: ['l3ctl network show ext -f json'] }).action(
    handler(async (ctx, _o, ref: string) => {
      const s = await loadState(ctx.storePath);
      await printObject(ctx, NETWORK_COLUMNS, networkRow(findNetwork(s, ref)));
    }),
  );
}

