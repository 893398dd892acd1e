// `lab up | check | down`: a self-contained demonstration on this host. The
// lab builds its router with the real l3ctl commands (run in-process against
// a store of its own), adds test hosts on the bridges, proves the result with
// traffic and removes all of it again.
import { existsSync, readFileSync } from 'node:fs';
import { EXIT, L3ctlError } from '../model/errors.js';
import { namespaceName } from '../model/names.js';
import { formatCommand } from '../linux/runner.js';
import { storeFiles } from '../store/remove.js';
import { chooseLabStore, removeLabStore } from '../lab/store.js';
import { haLabCheck, haLabDown, haLabPresent, haLabUp, type LabIo } from '../lab/ha.js';
import { loadState } from '../store/store.js';
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
import type { IO } from './io.js';
import { printList } from './output.js';

/**
 * The lab's own store: --store when given on the command line, else lab.json.
 * Never L3CTL_STORE: that is the operator's store, which `lab down` would delete.
 */
function labStore(io: IO): { path: string; explicit: boolean } {
  const store = chooseLabStore(io.storeOption);
  // Said under --dry-run too: it explains every store path printed.
  if (store.note && !io.quiet) io.stderr.write(`lab: ${store.note}\n`);
  return store;
}

/** Shell-quoted when needed, so printed commands can be pasted. */
const shq = (s: string) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const shown = (argv: string[]) => argv.map(shq).join(' ');

const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/**
 * Run one l3ctl command in this process, against the lab store: the same
 * parsing, validation, lock and apply as from a shell. Its own stdout (the
 * object it made) is not the lab's output, so io.l3ctl drops it.
 */
async function l3ctlInProcess(io: IO, store: string, args: string[]): Promise<{ changed: boolean }> {
  try {
    return await io.l3ctl(['--store', store, '-q', '--yes', '--no-input', ...(io.verbose ? ['-v'] : []), ...args]);
  } catch (err) {
    const e = err as L3ctlError;
    throw new L3ctlError(`lab: l3ctl ${shown(args)}: ${e.message}`, e instanceof L3ctlError ? e.exitCode : EXIT.apply, e.hint);
  }
}

const readStoreText = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : null);

/** How the operator reaches the lab's objects with the ordinary commands. */
const inspectHint = (store: string) => `l3ctl --store ${shq(store)} router show ${ROUTER}`;
const labCmd = (store: { path: string; explicit: boolean }, verb: string) =>
  `l3ctl${store.explicit ? ` --store ${shq(store.path)}` : ''} lab ${verb}`;

/** The lab's names, its store and what the store holds (refused when it is not the lab's). */
async function openLab(io: IO) {
  const names = labNames();
  const store = labStore(io);
  // A corrupt store is reported (exit 5) and left alone, as everywhere.
  const state = await loadState(store.path);
  assertLabStore(state, names, store.path, existsSync(store.path));
  return { names, store, state };
}

const labIo = (io: IO): LabIo => ({ runner: io.runner, files: io.files, dryRun: io.dryRun, status: io.status, warn: io.warn, out: io.out });

export async function labUp(o: { ha?: boolean }, io: IO): Promise<void> {
  const t0 = performance.now();
  if (o.ha) {
    const store = labStore(io);
    await haLabUp(labIo(io), labNames(), store.path);
    io.status(`lab: HA lab up in ${seconds(t0)}`);
    io.status(`  prove it (a failover):  ${labCmd(store, 'check')}`);
    io.status(`  remove it:              ${labCmd(store, 'down')}`);
    return;
  }
  const { names, store, state: before } = await openLab(io);
  io.status(`lab: store ${store.path}, host namespace ${names.hostNs}`);

  for (const step of buildSteps(names)) {
    // Under --dry-run the l3ctl commands are listed, not run: each one plans
    // against the store the previous ones would have written.
    if (io.dryRun) io.out(formatCommand(['l3ctl', '--store', shq(store.path), ...step.map(shq)]));
    else {
      // Said once it is done: a re-run shows at a glance that nothing needed doing.
      const before = readStoreText(store.path);
      const { changed } = await l3ctlInProcess(io, store.path, step);
      io.status(`lab: l3ctl ${shown(step)}${changed || readStoreText(store.path) !== before ? '' : ' (unchanged)'}`);
    }
  }

  const state = io.dryRun ? before : await loadState(store.path);
  for (const h of testHosts(names)) {
    const bridge = labBridge(state, names, h.network);
    const did = await ensureTestHost(io.runner, h, names.hostNs, bridge);
    io.status(`lab: test host ${h.ns}: ${h.cidr}${h.gateway ? ` via ${h.gateway}` : ''} on ${bridge} (${did})`);
  }

  io.status(`lab: up in ${seconds(t0)}`);
  io.status(`  prove it:   ${labCmd(store, 'check')}`);
  io.status(`  inspect it: ${inspectHint(store.path)}`);
  io.status(`  remove it:  ${labCmd(store, 'down')}`);
}

export async function labCheck(_o: object, io: IO): Promise<void> {
  const t0 = performance.now();
  const haStore = labStore(io);
  if (!existsSync(haStore.path) && (await haLabPresent(labIo(io), labNames(), haStore.path))) return labCheckHa(io, haStore, t0);
  const { names, store, state } = await openLab(io);
  const router = state.routers.find((r) => r.name === ROUTER);
  if (!router) throw new L3ctlError(`the lab is not up: no router '${ROUTER}' in ${store.path}`, EXIT.apply, labCmd(store, 'up'));
  const routerNs = namespaceName(router.id);
  if (io.dryRun) {
    for (const line of checkCommands(names, routerNs)) io.out(line);
    return;
  }
  io.status('lab: checking with real traffic…');
  const echo = io.verbose ? (l: string) => void io.stderr.write(l + '\n') : undefined;
  const rows = await runChecks(io.runner, names, routerNs, echo);
  await printList(io, CHECK_COLUMNS, rows);
  const failed = rows.filter((r) => r.result !== 'pass');
  if (failed.length) {
    throw new L3ctlError(
      `lab check: ${failed.length} of ${rows.length} checks failed`,
      EXIT.apply,
      `see the drift with: ${inspectHint(store.path)}; ${labCmd(store, 'up')} repairs the lab`,
    );
  }
  io.status(`lab: all ${rows.length} checks passed in ${seconds(t0)}`);
}

/** `lab check` of the HA lab (src/lab/ha.ts). */
async function labCheckHa(io: IO, store: { path: string; explicit: boolean }, t0: number): Promise<void> {
  if (!io.dryRun) io.status('lab: checking the HA lab with real traffic and a failover…');
  const echo = io.verbose ? (l: string) => void io.stderr.write(l + '\n') : undefined;
  const rows = await haLabCheck(labIo(io), labNames(), store.path, echo);
  if (io.dryRun) return;
  await printList(io, CHECK_COLUMNS, rows);
  const failed = rows.filter((r) => r.result !== 'pass');
  if (failed.length) throw new L3ctlError(`lab check: ${failed.length} of ${rows.length} checks failed`, EXIT.apply, `${labCmd(store, 'up')} --ha repairs the lab`);
  io.status(`lab: all ${rows.length} checks passed in ${seconds(t0)}`);
}

export async function labDown(_o: object, io: IO): Promise<void> {
  const t0 = performance.now();
  const haStore = labStore(io);
  if (await haLabPresent(labIo(io), labNames(), haStore.path)) {
    const failed = await haLabDown(labIo(io), labNames(), haStore.path);
    if (failed) io.warn(`HA lab: ${failed} step(s) failed on the way`);
    if (!existsSync(haStore.path)) return io.status(`lab: HA lab down in ${seconds(t0)}`);
  }
  const { names, store, state } = await openLab(io);

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
    if (io.dryRun) {
      io.out(formatCommand(['l3ctl', '--store', shq(store.path), '--yes', ...step.map(shq)]));
      continue;
    }
    io.status(`lab: l3ctl ${shown(step)}`);
    try {
      await l3ctlInProcess(io, store.path, step);
    } catch (err) {
      failures++;
      io.warn(`${(err as Error).message}; removing its namespaces directly`);
    }
  }

  // Whatever is left: test hosts, the router namespace (also when the store
  // is already gone: the lab's router id derives from its prefix), the host
  // namespace with its bridges.
  const routerNss = [...new Set([...state.routers.map((r) => r.id), labId(names.prefix, ROUTER)].map(namespaceName))];
  const leftovers = async () => {
    const present = await io.runner.namespaces();
    return [names.upstream, names.vm1, names.vm2, ...routerNss, names.hostNs].filter((n) => present.has(n));
  };
  // Under --dry-run the router deletes above have not run: their namespaces are theirs to remove.
  const tornDown = new Set(io.dryRun ? state.routers.map((r) => namespaceName(r.id)) : []);
  const found = (await leftovers()).filter((n) => !tornDown.has(n));
  for (const ns of found) {
    io.status(`lab: ip netns del ${ns}`);
    try {
      await io.runner.run(['ip', 'netns', 'del', ns]);
    } catch (err) {
      failures++;
      io.warn((err as Error).message);
    }
  }

  const files = storeFiles(store.path);
  if (io.dryRun) {
    for (const f of files) io.stderr.write(`(dry run) would remove ${f}\n`);
    return;
  }
  const hadStore = files.includes(store.path);
  await removeLabStore(store.path, names, io.warn);

  const left = await leftovers();
  if (left.length) throw new L3ctlError(`lab down: namespaces left behind: ${left.join(', ')}`, EXIT.apply);
  if (failures) io.warn(`${failures} step(s) failed on the way, but nothing of the lab is left`);
  const removed = steps.length + found.length + (hadStore ? 1 : 0);
  io.status(removed ? `lab: down in ${seconds(t0)}${hadStore ? `; store ${store.path} removed` : ''}` : 'lab: nothing to remove');
}
