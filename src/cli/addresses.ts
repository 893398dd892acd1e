// `--ip` given once per IP version (interface add, gateway set): the
// addresses by version, and the check that the network has a subnet of each.
import { ipVersion } from '../model/addr.js';
import { UsageError } from '../model/errors.js';
import { subnetOfVersion } from '../model/subnets.js';
import type { Network } from '../model/types.js';
import { checkIp } from '../model/validate.js';

/** `--ip` values, at most one per IP version, by version. */
export function addressesByVersion(ips: string[] | undefined, what: string): Map<4 | 6, string> {
  const out = new Map<4 | 6, string>();
  for (const x of ips ?? []) {
    const ip = checkIp(what, x);
    const v = ipVersion(ip)!;
    if (out.has(v)) throw new UsageError(`--ip given twice for IPv${v} (${out.get(v)} and ${ip}): expected at most one address per IP version`);
    out.set(v, ip);
  }
  return out;
}

/** An address of a version the network has no subnet of is refused. */
export function subnetsFor(n: Network, given: Map<4 | 6, string>, flag = '--ip'): void {
  for (const [v, ip] of given) {
    if (!subnetOfVersion(n, v)) {
      throw new UsageError(`network '${n.name}' has no IPv${v} subnet for ${flag} ${ip}`, n.subnets.length ? `its subnets: ${n.subnets.map((x) => x.cidr).join(', ')}` : `l3ctl subnet add ${n.name} CIDR`);
    }
  }
}
