// Desired state as kept in the store. Field names follow Neutron's API where
// an operator sees them (-c columns, -f json).

export interface Network {
  id: string;
  name: string;
  cidr: string; // canonical network CIDR, e.g. 198.51.100.0/24
  gateway_ip: string | null;
  external: boolean;
  bridge: string | null; // operator-named bridge; null: brq<id[:11]>
}

export interface Port {
  id: string;
  network_id: string;
  ip_address: string;
  mac_address: string;
  admin_state_up: boolean;
}

export interface Route {
  destination: string; // canonical CIDR
  nexthop: string;
}

export interface Router {
  id: string;
  name: string;
  admin_state_up: boolean;
  gateway: Port | null;
  interfaces: Port[];
  routes: Route[];
  /** An HA router: keepalived (VRRP) on every node that has it elects the one holding its addresses. */
  ha: boolean;
  /** Its VRRP id on the HA network (1-254): allocated once and stored, so every node renders the same; null unless ha. */
  ha_vr_id: number | null;
}

export interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  fixed_ip_address: string | null;
  router_id: string | null;
}

export type ConfigValues = Record<string, string>;

export interface State {
  version: number;
  config: ConfigValues;
  networks: Network[];
  routers: Router[];
  floatingips: FloatingIp[];
}

/** The store's version; older stores are brought up to it on load (src/store/migrate.ts). */
export const STATE_VERSION = 2;

export function emptyState(): State {
  return { version: STATE_VERSION, config: {}, networks: [], routers: [], floatingips: [] };
}
