// Which routers this host handles (the agent's _process_routers filters).
import { configKey, type Config } from '../model/config.js';
import { UsageError } from '../model/errors.js';
import type { Router, State } from '../model/types.js';

export type SkipReason = 'admin-down' | 'not-router_id' | 'internal-only' | 'other-external-network' | null;

/** The agent's external network id, or null when the store has none. */
export function agentExternalNetwork(state: State, config: Config): string | null {
  if (config.gateway_external_network_id) return config.gateway_external_network_id;
  const ext = state.networks.filter((n) => n.external);
  if (ext.length > 1) {
    throw new UsageError(
      "The 'gateway_external_network_id' option must be configured for this agent as l3ctl has more than one external network.",
      'l3ctl config set gateway_external_network_id <network id>',
    );
  }
  return ext[0]?.id ?? null;
}

export function checkConfig(config: Config): void {
  if (!config.use_namespaces && !config.router_id) {
    throw new UsageError('router_id is required when use_namespaces is false', 'l3ctl config set router_id <router id>');
  }
  // `config set` checks it; a store edited by hand may still hold a bad one.
  if (config.metadata_upstream !== null) configKey('metadata_upstream').check(config.metadata_upstream);
}

/** Why a router is not handled here, or null when it is. */
export function skipReason(state: State, config: Config, router: Router): SkipReason {
  if (!router.admin_state_up) return 'admin-down';
  if (!config.use_namespaces && router.id !== config.router_id) return 'not-router_id';
  const gwNet = router.gateway?.network_id ?? null;
  if (!gwNet && !config.handle_internal_only_routers) return 'internal-only';
  // Asked only for routers with a gateway, as the agent fails only those.
  if (gwNet && gwNet !== agentExternalNetwork(state, config)) return 'other-external-network';
  return null;
}

/** The command that makes this host handle a router skipped for `skip`. */
export function skipFix(skip: Exclude<SkipReason, null>, router: Router): string {
  switch (skip) {
    case 'admin-down':
      return `l3ctl router enable ${router.name}`;
    case 'other-external-network':
      return 'l3ctl config set gateway_external_network_id <network id>';
    case 'internal-only':
      return 'l3ctl config set handle_internal_only_routers true';
    case 'not-router_id':
      return `l3ctl config set router_id ${router.id}`;
  }
}
