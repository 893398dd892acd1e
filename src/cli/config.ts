import type { Command } from 'commander';
import { CONFIG_KEYS, configKey } from '../model/config.js';
import { UsageError } from '../model/errors.js';
import type { State } from '../model/types.js';
import { loadState } from '../store/store.js';
import { define, handler, noun } from './define.js';
import { mutate } from './mutate.js';
import { findConfigKey } from './resolve.js';
import { printList, printObject } from './output.js';

export const CONFIG_COLUMNS = ['key', 'value', 'default', 'source'];

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
  // Every option can change what a router looks like: every router gets a pass.
  return { bridges: true, routers: s.routers.map((r) => r.id), hostLeftovers: key === 'use_namespaces' || key === 'router_id' };
}

export function register(program: Command): void {
  const cfg = noun(program, 'config', { summary: "the agent's options, kept in the store", examples: ['l3ctl config list'] });

  define(cfg, 'list', { summary: 'list every option with its value and default', examples: ['l3ctl config list -f value -c key -c value'] }).action(
    handler(async (ctx) => {
      const s = await loadState(ctx.storePath);
      await printList(ctx, CONFIG_COLUMNS, CONFIG_KEYS.map((k) => row(s, k.name)));
    }),
  );

  define(cfg, 'get <key>', { summary: 'print the value of an option', examples: ['l3ctl config get send_arp_for_ha'] }).action(
    handler(async (ctx, _o, key: string) => {
      findConfigKey(key);
      const s = await loadState(ctx.storePath);
      const r = row(s, key);
      if (ctx.format === 'table' && !ctx.columns.length) return ctx.out(r.value ?? '');
      await printObject(ctx, CONFIG_COLUMNS, r);
    }),
  );

  define(cfg, 'set <key> <value>', { summary: 'set an option and apply it to every router', examples: ['l3ctl config set external_network_bridge ""', 'l3ctl config set host_namespace l3ctl-lab-host'] }).action(
    handler(async (ctx, _o, key: string, value: string) => {
      const v = findConfigKey(key).check(value);
      await mutate(ctx, (s) => ({ ...changeConfig(s, key, v), print: () => ctx.status(`${key} = ${v}`) }));
    }),
  );

  define(cfg, 'unset <key>', { summary: 'return an option to its default', examples: ['l3ctl config unset router_id'] }).action(
    handler(async (ctx, _o, key: string) => {
      findConfigKey(key);
      await mutate(ctx, (s) => ({ ...changeConfig(s, key, undefined), print: () => ctx.status(`${key} reset to its default`) }));
    }),
  );
}
