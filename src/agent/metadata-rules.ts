// The iptables rules of the metadata proxy, in the exact text iptables-save
// prints back (checked on iptables 1.8.9 nf_tables), for nat.ts to place in
// our chains. Only instances reach the proxy: the REDIRECT takes traffic that
// enters through an internal port, and the DROP refuses the proxy port to any
// connection that was not redirected (a client on the external network
// aiming at the gateway address, or a VM aiming at the router's own address).
import { chain, INTERNAL_DEV_PREFIX } from '../model/names.js';

export const METADATA_ADDRESS = '169.254.169.254';

export interface MetadataRules {
  /** In order, for l3ctl-INPUT (filter). */
  filter: string[];
  /** For l3ctl-PREROUTING (nat). */
  nat: string[];
}

export function metadataRules(port: number): MetadataRules {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`metadata rules: bad port ${port}`);
  const input = chain('INPUT');
  return {
    filter: [
      // Neutron's rule, as saved (`-s 0.0.0.0/0 -d 127.0.0.1` comes back as below).
      `-A ${input} -d 127.0.0.1/32 -p tcp -m tcp --dport ${port} -j ACCEPT`,
      // REDIRECT is a DNAT to the incoming port's address, so redirected connections carry
      // ctstate DNAT and pass. --ctdir ORIGINAL spares replies to the router's own outgoing
      // connections whose local port happens to be this one (a port in the ephemeral range).
      `-A ${input} -p tcp -m tcp --dport ${port} -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP`,
    ],
    nat: [`-A ${chain('PREROUTING')} -d ${METADATA_ADDRESS}/32 -i ${INTERNAL_DEV_PREFIX}+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports ${port}`],
  };
}
