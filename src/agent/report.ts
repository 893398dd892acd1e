// The agent's state report (Quantum's _report_state): configuration and the
// counts of the routers this host handles. Pure: host and time are passed in.
import type { Config } from '../model/config.js';
import type { Router, State } from '../model/types.js';
import { skipReason } from './filters.js';

export interface StateReport {
  binary: 'l3ctl';
  host: string;
  topic: 'l3_agent';
  agent_type: 'L3 agent';
  start_flag?: true;
  configurations: {
    use_namespaces: boolean;
    router_id: string | null;
    handle_internal_only_routers: boolean;
    gateway_external_network_id: string | null;
    interface_driver: string;
    routers: number;
    ex_gw_ports: number;
    interfaces: number;
    floating_ips: number;
  };
  time: string;
}

/** Handled here? A router whose filter cannot be decided (config error) is not: the agent would fail it. */
export function isHandled(state: State, config: Config, r: Router): boolean {
  try {
    return skipReason(state, config, r) === null;
  } catch {
    return false;
  }
}

export function stateReport(state: State, config: Config, o: { host: string; now: Date; startFlag?: boolean }): StateReport {
  const handled = state.routers.filter((r) => isHandled(state, config, r));
  const ids = new Set(handled.map((r) => r.id));
  return {
    binary: 'l3ctl',
    host: o.host,
    topic: 'l3_agent',
    agent_type: 'L3 agent',
    ...(o.startFlag ? { start_flag: true as const } : {}),
    configurations: {
      use_namespaces: config.use_namespaces,
      router_id: config.router_id,
      handle_internal_only_routers: config.handle_internal_only_routers,
      gateway_external_network_id: config.gateway_external_network_id,
      interface_driver: config.interface_driver,
      routers: handled.length,
      ex_gw_ports: handled.filter((r) => r.gateway).length,
      interfaces: handled.reduce((n, r) => n + r.interfaces.length, 0),
      floating_ips: state.floatingips.filter((f) => f.router_id !== null && ids.has(f.router_id) && f.fixed_ip_address).length,
    },
    time: o.now.toISOString(),
  };
}
