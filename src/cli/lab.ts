// `lab up | check | down`: a self-contained demonstration on this host. The
// lab builds its router with the real l3ctl commands (run in-process against
// a store of its own), adds test hosts on the bridges, proves the result with
// traffic and removes all of it again.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT, L3ctlError } from '../model/errors.js';
import { namespaceName } from '../model/names.js';
import { formatCommand } from '../linux/runner.js';
import { backupPath, loadState } from '../store/store.js';
import { CHECK_COLUMNS, checkCommands, runChecks } from '../lab/check.js';
import {
  assertLabStore,
  buildSteps,
  ensureTestHost,
  labBridge,
  labId,
  labNames,
  LAB_STORE_PATH,
  ROUTER,
  testHosts,
} from '../lab/topology.js';
import { chooseLabStore, removeLabStore } from '../lab/store.js';
import { haLabCheck, haLabDown, haLabPresent, haLabUp, type LabIo } from '../lab/ha.js';
import type { Context } from './context.js';
import { define, handler, noun } from './define.js';
import { printList } from './output.js';

/**
 * The lab's own store: --store when given on the command line, else lab.json.
 * Never L3CTL_STORE: that is the operator's store, which `lab down` would delete.
 */
function labStore(ctx: Context, o: { store?: string }): { path: string; explicit: boolean } {
  const store = chooseLabStore(o.store);
  // Said under --dry-run too: it explains every store path printed.
  if (store.note && !ctx.quiet) process.stderr.write(`lab: ${store.note}\n`);
  return store;
}

/** Shell-quoted when needed, so printed commands can be pasted. */
const shq = (s: string) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const shown = (argv: string[]) => argv.map(shq).join(' ');

const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/**
 * Run one l3ctl command in this process, against the lab store: the same
 * parsing, validation, lock and apply as from a shell. Its own stdout (the
 * object it made) is not the lab's output, so it is dropped.
 */
async function l3ctlInProcess(ctx: Context, store: string, args: string[]): Promise<void> {
  const { buildProgram } = await import('./main.js');
  const argv = ['node', 'l3ctl', '--store', store, '-q', '--yes', '--no-input', ...(ctx.verbose ? ['-v'] : []), ...args];
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const e = err as L3ctlError;
    throw new L3ctlError(`lab: l3ctl ${shown(args)}: ${e.message}`, e instanceof L3ctlError ? e.exitCode : EXIT.apply, e.hint);
  } finally {
    process.stdout.write = write;
  }
}

/** How the operator reaches the lab's objects with the ordinary commands. */
const inspectHint = (store: string) => `l3ctl --store ${shq(store)} router show ${ROUTER}`;
const labCmd = (store: { path: string; explicit: boolean }, verb: string) =>
  `l3ctl${store.explicit ? ` --store ${shq(store.path)}` : ''} lab ${verb}`;

const labIo = (ctx: Context): LabIo => ({ runner: ctx.runner, files: ctx.files, dryRun: ctx.dryRun, status: ctx.status, warn: ctx.warn, out: ctx.out });

async function labUp(ctx: Context, o: { store?: string; ha?: boolean }): Promise<void> {
  const t0 = performance.now();
  const names = labNames();
  const store = labStore(ctx, o);
  if (o.ha) {
    await haLabUp(labIo(ctx), names, store.path);
    ctx.status(`lab: HA lab up in ${seconds(t0)}`);
    ctx.status(`  prove it (a failover):  ${labCmd(store, 'check')}`);
    ctx.status(`  remove it:              ${labCmd(store, 'down')}`);
    return;
  }
  const before = await loadState(store.path);
  assertLabStore(before, names, store.path, existsSync(store.path));
  ctx.status(`lab: store ${store.path}, host namespace ${names.hostNs}`);

  for (const step of buildSteps(names)) {
    // Under --dry-run the l3ctl commands are listed, not run: each one plans
    // against the store the previous ones would have written.
    if (ctx.dryRun) ctx.out(formatCommand(['l3ctl', '--store', shq(store.path), ...step.map(shq)]));
    else {
      ctx.status(`lab: l3ctl ${shown(step)}`);
      await l3ctlInProcess(ctx, store.path, step);
    }
  }

  const state = ctx.dryRun ? before : await loadState(store.path);
  for (const h of testHosts(names)) {
    const bridge = labBridge(state, names, h.network);
    const did = await ensureTestHost(ctx.runner, h, names.hostNs, bridge);
    ctx.status(`lab: test host ${h.ns}: ${h.cidr}${h.gateway ? ` via ${h.gateway}` : ''} on ${bridge} (${did})`);
  }

  ctx.status(`lab: up in ${seconds(t0)}`);
  ctx.status(`  prove it:   ${labCmd(store, 'check')}`);
  ctx.status(`  inspect it: ${inspectHint(store.path)}`);
  ctx.status(`  remove it:  ${labCmd(store, 'down')}`);
}

async function labCheck(ctx: Context, o: { store?: string }): Promise<void> {
  const t0 = performance.now();
  const names = labNames();
  const store = labStore(ctx, o);
  if (!existsSync(store.path) && (await haLabPresent(labIo(ctx), names, store.path))) return labCheckHa(ctx, store, t0);
  const state = await loadState(store.path);
  assertLabStore(state, names, store.path, existsSync(store.path));
  const router = state.routers.find((r) => r.name === ROUTER);
  if (!router) throw new L3ctlError(`the lab is not up: no router '${ROUTER}' in ${store.path}`, EXIT.apply, labCmd(store, 'up'));
  const routerNs = namespaceName(router.id);
  if (ctx.dryRun) {
    for (const line of checkCommands(names, routerNs)) ctx.out(line);
    return;
  }
  ctx.status('lab: checking with real traffic…');
  const echo = ctx.verbose ? (l: string) => void process.stderr.write(l + '\n') : undefined;
  const rows = await runChecks(ctx.runner, names, routerNs, echo);
  await printList(ctx, CHECK_COLUMNS, rows);
  const failed = rows.filter((r) => r.result !== 'pass');
  if (failed.length) {
    throw new L3ctlError(
      `lab check: ${failed.length} of ${rows.length} checks failed`,
      EXIT.apply,
      `see the drift with: ${inspectHint(store.path)}; ${labCmd(store, 'up')} repairs the lab`,
    );
  }
  ctx.status(`lab: all ${rows.length} checks passed in ${seconds(t0)}`);
}

/** `lab check` of the HA lab (src/lab/ha.ts). */
async function labCheckHa(ctx: Context, store: { path: string; explicit: boolean }, t0: number): Promise<void> {
  if (!ctx.dryRun) ctx.status('lab: checking the HA lab with real traffic and a failover…');
  const echo = ctx.verbose ? (l: string) => void process.stderr.write(l + '\n') : undefined;
  const rows = await haLabCheck(labIo(ctx), labNames(), store.path, echo);
  if (ctx.dryRun) return;
  await printList(ctx, CHECK_COLUMNS, rows);
  const failed = rows.filter((r) => r.result !== 'pass');
  if (failed.length) throw new L3ctlError(`lab check: ${failed.length} of ${rows.length} checks failed`, EXIT.apply, `${labCmd(store, 'up')} --ha repairs the lab`);
  ctx.status(`lab: all ${rows.length} checks passed in ${seconds(t0)}`);
}

async function labDown(ctx: Context, o: { store?: string }): Promise<void> {
  const t0 = performance.now();
  const names = labNames();
  const store = labStore(ctx, o);
  if (await haLabPresent(labIo(ctx), names, store.path)) {
    const failed = await haLabDown(labIo(ctx), names, store.path);
    if (failed) ctx.warn(`HA lab: ${failed} step(s) failed on the way`);
    if (!existsSync(store.path)) return ctx.status(`lab: HA lab down in ${seconds(t0)}`);
  }
  // A corrupt store is reported (exit 5) and left alone, as everywhere.
  const state = await loadState(store.path);
  assertLabStore(state, names, store.path, existsSync(store.path));

  // The normal code path first: router teardown (its floating IPs are
  // disassociated with it, so no router is rebuilt on the way), then the
  // floating IPs and networks. A failure is not the end: the namespaces go below.
  const steps = [
    ...state.routers.map((r) => ['router', 'delete', r.name]),
    ...state.floatingips.map((f) => ['fip', 'delete', f.floating_ip_address]),
    // Its test hosts are still plugged into the bridges: the lab's own, not foreign.
    ...state.networks.map((n) => ['network', 'delete', n.name, '--force']),
  ];
  let failures = 0;
  for (const step of steps) {
    if (ctx.dryRun) {
      ctx.out(formatCommand(['l3ctl', '--store', shq(store.path), '--yes', ...step.map(shq)]));
      continue;
    }
    ctx.status(`lab: l3ctl ${shown(step)}`);
    try {
      await l3ctlInProcess(ctx, store.path, step);
    } catch (err) {
      failures++;
      ctx.warn(`${(err as Error).message}; removing its namespaces directly`);
    }
  }

  // Whatever is left: test hosts, the router namespace (also when the store
  // is already gone: the lab's router id derives from its prefix), the host
  // namespace with its bridges.
  const routerNss = [...new Set([...state.routers.map((r) => r.id), labId(names.prefix, ROUTER)].map(namespaceName))];
  const leftovers = async () => {
    const present = await ctx.runner.namespaces();
    return [names.upstream, names.vm1, names.vm2, ...routerNss, names.hostNs].filter((n) => present.has(n));
  };
  // Under --dry-run the router deletes above have not run: their namespaces are theirs to remove.
  const tornDown = new Set(ctx.dryRun ? state.routers.map((r) => namespaceName(r.id)) : []);
  const found = (await leftovers()).filter((n) => !tornDown.has(n));
  for (const ns of found) {
    ctx.status(`lab: ip netns del ${ns}`);
    try {
      await ctx.runner.run(['ip', 'netns', 'del', ns]);
    } catch (err) {
      failures++;
      ctx.warn((err as Error).message);
    }
  }

  const files = [store.path, backupPath(store.path)];
  if (ctx.dryRun) {
    for (const f of files.filter((x) => existsSync(x))) process.stderr.write(`(dry run) would remove ${f}\n`);
    return;
  }
  const hadStore = existsSync(store.path);
  await removeLabStore(store.path, names, ctx.warn);

  const left = await leftovers();
  if (left.length) throw new L3ctlError(`lab down: namespaces left behind: ${left.join(', ')}`, EXIT.apply);
  if (failures) ctx.warn(`${failures} step(s) failed on the way, but nothing of the lab is left`);
  const removed = steps.length + found.length + (hadStore ? 1 : 0);
  ctx.status(removed ? `lab: down in ${seconds(t0)}${hadStore ? `; store ${store.path} removed` : ''}` : 'lab: nothing to remove');
}

export function register(program: Command): void {
  const lab = noun(program, 'lab', {
    summary: 'a self-contained demonstration: a router, an upstream host and two VMs in namespaces of its own',
    examples: ['l3ctl lab up && l3ctl lab check', 'l3ctl lab down'],
  });

  define(lab, 'up', {
    summary: `build the lab in a store of its own (${LAB_STORE_PATH}, or lab --store PATH; never L3CTL_STORE); running it again changes nothing`,
    examples: ['l3ctl lab up', 'l3ctl lab up --dry-run', `l3ctl --store ${LAB_STORE_PATH} router show ${ROUTER}`, 'l3ctl lab up --ha && l3ctl lab check'],
  })
    .option('--ha', 'the router as an HA router on two simulated network nodes (keepalived VRRP); lab check then proves a failover')
    .action(handler((ctx, o) => labUp(ctx, o)));

  define(lab, 'check', {
    summary: 'prove the lab with real traffic (SNAT, floating IP both ways; the HA lab: a failover too); exit 1 when a check fails',
    examples: ['l3ctl lab check', 'l3ctl lab check -f json'],
  }).action(handler((ctx, o) => labCheck(ctx, o)));

  define(lab, 'down', {
    summary: 'remove the lab: router, networks, test hosts, its namespaces and its store (the HA lab: its nodes and their stores too)',
    examples: ['l3ctl lab down'],
  }).action(handler((ctx, o) => labDown(ctx, o)));
}
