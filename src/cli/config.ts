// `config list | get | set | unset`: the agent's options, kept in the store.
import { CONFIG_KEYS, configKey, effectiveConfig } from '../model/config.js';
import { haNetworkOf, haNodeAddress } from '../model/ha.js';
import { UsageError } from '../model/errors.js';
import type { State } from '../model/types.js';
import { loadState } from '../store/store.js';
import { CONFIG_COLUMNS } from './columns.js';
import type { IO } from './io.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { findConfigKey } from './resolve.js';

const row = (s: State, name: string) => {
  const k = configKey(name);
  const set = name in s.config;
  return { key: name, value: set ? s.config[name] : k.default, default: k.default, source: set ? 'store' : 'default' };
};

// Keys that decide where devices live: moving them under existing ports would strand those ports.
const PLACEMENT_KEYS = ['host_namespace', 'interface_driver', 'use_namespaces'];

function changeConfig(s: State, key: string, value: string | undefined) {
  const before = s.config[key];
  if (value === undefined) delete s.config[key];
  else s.config[key] = value;
  const plugged = s.routers.some((r) => r.interfaces.length || r.gateway);
  if (PLACEMENT_KEYS.includes(key) && before !== s.config[key] && plugged) {
    throw new UsageError(`cannot change ${key} while routers have ports`, 'remove the routers (or their ports) first, or change it on an empty store');
  }
  // The HA network (and this node's address on it) is checked when set, not only
  // once an HA router exists: one that is there but unfit is exit 2 at once. One
  // not made yet is a warning (configSet): the setup may name it first.
  if ((key === 'ha_network' || key === 'ha_node_address') && haNetworkThere(s)) {
    const config = effectiveConfig(s.config);
    const net = haNetworkOf(s, config);
    if (config.ha_node_address) haNodeAddress(config, net, null);
  }
  // Every option can change what a router looks like: every router gets a pass.
  return { bridges: true, routers: s.routers.map((r) => r.id), hostLeftovers: key === 'use_namespaces' || key === 'router_id', value: true };
}

export async function configList(_o: object, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  await printList(io, CONFIG_COLUMNS, CONFIG_KEYS.map((k) => row(s, k.name)));
}

export async function configGet(o: { key: string }, io: IO): Promise<void> {
  findConfigKey(o.key);
  const s = await loadState(io.storePath);
  const r = row(s, o.key);
  if (io.format === 'table' && !io.columns.length) return io.out(r.value ?? '');
  await printObject(io, CONFIG_COLUMNS, r);
}

const haNetworkThere = (s: State) => {
  const ref = s.config.ha_network;
  return !!ref && s.networks.some((n) => n.id === ref || n.name === ref);
};

export async function configSet(o: { key: string; value: string }, io: IO): Promise<void> {
  const v = findConfigKey(o.key).check(o.value);
  let notYet = false;
  const done = await mutate(io, (s) => {
    const c = changeConfig(s, o.key, v);
    notYet = o.key === 'ha_network' && !!v && !haNetworkThere(s);
    return c;
  });
  if (!done) return;
  io.status(`${o.key} = ${v}`);
  if (notYet) {
    io.warn(`ha_network '${v}' is not a network of this store yet: HA routers need it (l3ctl network add ${v} --cidr 169.254.192.0/18 --gateway-ip none --bridge BRIDGE)`);
  }
}

export async function configUnset(o: { key: string }, io: IO): Promise<void> {
  findConfigKey(o.key);
  if (await mutate(io, (s) => changeConfig(s, o.key, undefined))) io.status(`${o.key} reset to its default`);
}
