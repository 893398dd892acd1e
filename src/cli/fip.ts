import type { Command } from 'commander';
import { contains, firstFree, isIPv4 } from '../model/addr.js';
import { UsageError } from '../model/errors.js';
import type { FloatingIp, Network, State } from '../model/types.js';
import { checkIp } from '../model/validate.js';
import { skipReason } from '../agent/filters.js';
import { effectiveConfig } from '../model/config.js';
import { loadState } from '../store/store.js';
import { define, handler, noun } from './define.js';
import { usedAddresses } from './gateway.js';
import { newId } from './ids.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { findFip, findNetwork, findRouter } from './resolve.js';

export const FIP_COLUMNS = ['id', 'floating_ip_address', 'fixed_ip_address', 'router_id', 'status', 'floating_network_id'];

export function fipRow(s: State, f: FloatingIp) {
  const r = f.router_id ? s.routers.find((x) => x.id === f.router_id) : undefined;
  let status = 'DOWN';
  if (r) {
    try {
      status = skipReason(s, effectiveConfig(s.config), r) === null ? 'ACTIVE' : 'DOWN';
    } catch {
      status = 'ERROR';
    }
  }
  return { ...f, status };
}

function externalNetworkFor(s: State, ip: string | undefined, nref: string | undefined): Network {
  if (nref) return findNetwork(s, nref);
  const ext = s.networks.filter((n) => n.external);
  if (ip) {
    const hit = ext.find((n) => contains(n.cidr, ip));
    if (!hit) throw new UsageError(`floating IP ${ip} is on no external network: expected an address in an external network's subnet`, ext.length ? `external networks: ${ext.map((n) => `${n.name} (${n.cidr})`).join(', ')}` : 'add one: l3ctl network add NAME --cidr CIDR --external');
    return hit;
  }
  if (ext.length === 1) return ext[0]!;
  throw new UsageError(ext.length ? 'several external networks: pass --network' : 'no external network: l3ctl network add NAME --cidr CIDR --external');
}

/** Allocate `ip` (or the first free address) on an external network. */
function allocate(s: State, ip: string | undefined, nref?: string): FloatingIp {
  const n = externalNetworkFor(s, ip, nref);
  if (!n.external) throw new UsageError(`network '${n.name}' is not external: floating IPs live on external networks`);
  const addr = ip ?? firstFree(n.cidr, usedAddresses(s, n.id));
  if (!addr) throw new UsageError(`external network '${n.name}' has no free address left`);
  const f: FloatingIp = { id: newId(), floating_ip_address: addr, floating_network_id: n.id, fixed_ip_address: null, router_id: null };
  s.floatingips.push(f);
  return f;
}

export function register(program: Command): void {
  const fip = noun(program, 'fip', { summary: 'floating IPs: one-to-one NAT of an external address to a fixed IP', examples: ['l3ctl fip list'] });

  define(fip, 'add [ip]', { summary: 'allocate a floating IP (the first free address when IP is omitted)', examples: ['l3ctl fip add 203.0.113.20', 'l3ctl fip add --network ext'] })
    .option('--network <network>', 'external network (default: the only one)')
    .action(
      handler(async (ctx, o, ipArg?: string) => {
        const ip = ipArg ? checkIp('floating IP', ipArg) : undefined;
        await mutate(ctx, (s) => {
          const have = ip ? s.floatingips.find((f) => f.floating_ip_address === ip) : undefined;
          const f = have ?? allocate(s, ip, o.network);
          return { print: () => printObject(ctx, FIP_COLUMNS, fipRow(s, f)) };
        });
      }),
    );

  define(fip, 'delete <fip>', { summary: 'release a floating IP (disassociates it first)', examples: ['l3ctl fip delete 203.0.113.20'] }).action(
    handler(async (ctx, _o, ref: string) => {
      await mutate(ctx, (s) => {
        const f = findFip(s, ref);
        s.floatingips = s.floatingips.filter((x) => x.id !== f.id);
        return { routers: f.router_id ? [f.router_id] : [], print: () => ctx.status(`deleted floating IP ${f.floating_ip_address}`) };
      });
    }),
  );

  define(fip, 'associate <fip> <fixed-ip>', {
    summary: 'map a floating IP to a fixed IP behind a router (allocates the FIP when needed)',
    examples: ['l3ctl fip associate 203.0.113.20 198.51.100.5', 'l3ctl fip associate 203.0.113.20 198.51.100.5 --router r1'],
  })
    .option('--router <router>', 'the router (default: the one router with a subnet holding FIXED_IP)')
    .action(
      handler(async (ctx, o, ref: string, fixedArg: string) => {
        const fixed = checkIp('fixed IP', fixedArg);
        if (isIPv4(ref) || /^\d/.test(ref) && ref.includes('.')) checkIp('floating IP', ref);
        await mutate(ctx, (s) => {
          const f = s.floatingips.find((x) => x.floating_ip_address === ref) ?? (isIPv4(ref) ? allocate(s, ref) : findFip(s, ref));
          const candidates = o.router
            ? [findRouter(s, o.router)]
            : s.routers.filter((r) => r.interfaces.some((p) => contains(s.networks.find((n) => n.id === p.network_id)!.cidr, fixed)));
          if (!candidates.length) throw new UsageError(`fixed IP ${fixed} is on no router's internal subnet: expected an address on a network some router has an interface on`, 'l3ctl interface add ROUTER NETWORK');
          // Tenants may reuse address space: the same fixed IP can sit behind several routers.
          const same = candidates.find((r) => r.id === f.router_id && f.fixed_ip_address === fixed);
          if (candidates.length > 1 && !same) {
            throw new UsageError(`fixed IP ${fixed} is on subnets of several routers: ${candidates.map((r) => r.name).join(', ')}: expected --router to say which`, `l3ctl fip associate ${f.floating_ip_address} ${fixed} --router ${candidates[0]!.name}`);
          }
          const r = same ?? candidates[0]!;
          const old = f.router_id;
          f.router_id = r.id;
          f.fixed_ip_address = fixed;
          return { routers: [...(old && old !== r.id ? [old] : []), r.id], print: () => printObject(ctx, FIP_COLUMNS, fipRow(s, f)) };
        });
      }),
    );

  define(fip, 'disassociate <fip>', { summary: 'remove the mapping: address, NAT rules and conntrack entries', examples: ['l3ctl fip disassociate 203.0.113.20'] }).action(
    handler(async (ctx, _o, ref: string) => {
      await mutate(ctx, (s) => {
        const f = findFip(s, ref);
        const old = f.router_id;
        f.router_id = null;
        f.fixed_ip_address = null;
        return { routers: old ? [old] : [], print: () => printObject(ctx, FIP_COLUMNS, fipRow(s, f)) };
      });
    }),
  );

  define(fip, 'list', { summary: 'list floating IPs', examples: ['l3ctl fip list --router r1 -f value -c floating_ip_address -c fixed_ip_address'] })
    .option('--router <router>', 'only those of this router')
    .action(
      handler(async (ctx, o) => {
        const s = await loadState(ctx.storePath);
        const rid = o.router ? findRouter(s, o.router).id : undefined;
        await printList(ctx, FIP_COLUMNS, s.floatingips.filter((f) => !rid || f.router_id === rid).map((f) => fipRow(s, f)));
      }),
    );
}
