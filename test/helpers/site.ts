// A small stored site for the document and declarative unit tests, the same
// topology as error-cases.ts's: ext 203.0.113.0/24 (gateway .1), priv
// 198.51.100.0/24, router r1 with a gateway at 203.0.113.10, an interface on
// priv, a route 192.0.2.128/25 via 198.51.100.254 and floating IP
// 203.0.113.20 -> 198.51.100.5. Fixed ids (their first 11 characters differ: kernel names), so that
// tests can name them.
import type { State } from '../../src/model/types.js';
import { net, port } from './one-subnet.js';

export const IDS = {
  ext: 'e1000000-0000-4000-8000-000000000001',
  priv: 'e2000000-0000-4000-8000-000000000002',
  r1: 'e3000000-0000-4000-8000-000000000003',
  gw: 'e4000000-0000-4000-8000-000000000004',
  qr: 'e5000000-0000-4000-8000-000000000005',
  fip: 'e6000000-0000-4000-8000-000000000006',
};

/** This node's own options: not in a document, kept by apply. */
export const NODE_CONFIG = { host_namespace: 'l3ctl-t-unit-site' };

export function siteState(): State {
  return {
    version: 3,
    config: { ...NODE_CONFIG, external_network_bridge: '', send_arp_for_ha: '0' },
    networks: [
      net({ id: IDS.ext, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
      net({ id: IDS.priv, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }),
    ],
    routers: [
      {
        id: IDS.r1,
        name: 'r1',
        admin_state_up: true,
        ha: false,
        ha_vr_id: null,
        gateway: port({ id: IDS.gw, network_id: IDS.ext, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:10', admin_state_up: true }),
        interfaces: [port({ id: IDS.qr, network_id: IDS.priv, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:01', admin_state_up: true })],
        routes: [{ destination: '192.0.2.128/25', nexthop: '198.51.100.254' }],
      },
    ],
    floatingips: [{ id: IDS.fip, floating_ip_address: '203.0.113.20', floating_network_id: IDS.ext, fixed_ip_address: '198.51.100.5', router_id: IDS.r1 }],
  };
}
