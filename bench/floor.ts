// Section 3 — floor: `agent sync` of 16 routers (2 ports, 5 FIPs each) from
// an empty kernel against a shell script that builds the same namespaces,
// veths, bridges, addresses, routes and iptables tables with the fewest
// processes; then a converged `agent sync` of the same routers: how many
// mutating commands it runs (goal 0) and its time against a shell loop that
// only reads (one iptables-save and one `ip -j addr` per namespace).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { l3ctl, median, run } from './lib/proc.js';
import { floorBuildScript, floorReadScript, isReadOnly, verboseCommands } from './lib/floor.js';
import { withSandbox } from './lib/kernel.js';
import { info, progress, ratioGoal, ratioRow, row, type Section } from './lib/report.js';
import { diffSnapshots, iptablesSave, snapshot } from './lib/snapshot.js';
import { neutronShape, routerNamespaces } from './lib/topology.js';

export const FLOOR_ROUTERS = 16;

export async function benchFloor(rounds: number): Promise<Section> {
  return withSandbox('floor', async (sb) => {
    const { state } = neutronShape(FLOOR_ROUTERS, 2, 5, sb.config, 'f');
    const nss = routerNamespaces(state);
    const t = { sync: [] as number[], script: [] as number[], converged: [] as number[], reads: [] as number[] };
    const notes: string[] = [];
    let mutating: string[] = [];
    let commands = 0;
    let readScript = '';
    let buildScript = '';
    const buildPath = join(sb.dir, 'floor-build.sh');
    const readPath = join(sb.dir, 'floor-read.sh');
    for (let i = 0; i < rounds; i++) {
      progress(`floor: round ${i + 1}/${rounds}: l3ctl agent sync of ${FLOOR_ROUTERS} routers from empty`);
      sb.clearKernel();
      sb.writeStore(state);
      t.sync.push((await l3ctl(sb.store, ['agent', 'sync', '-q'])).ms);
      t.converged.push((await l3ctl(sb.store, ['agent', 'sync', '-q'])).ms);
      if (i === 0) {
        // The floor loads exactly the tables l3ctl built; the read loop reads the same namespaces.
        const rules = new Map<string, string>();
        for (const ns of nss) rules.set(ns, await iptablesSave(ns));
        buildScript = floorBuildScript(state, sb.hostNs, rules);
        readScript = floorReadScript(state, sb.hostNs);
        writeFileSync(buildPath, buildScript);
        writeFileSync(readPath, readScript);
        const cmds = verboseCommands((await l3ctl(sb.store, ['agent', 'sync', '-v'])).stderr);
        commands = cmds.length;
        mutating = cmds.filter((c) => !isReadOnly(c));
        const ours = await snapshot(sb.hostNs, nss);
        sb.clearKernel();
        await run(['bash', buildPath]);
        const diff = diffSnapshots(ours, await snapshot(sb.hostNs, nss));
        notes.push(diff.length ? `the floor script's kernel state DIFFERS from l3ctl's: ${diff.join('; ')}` : 'the floor script builds the same kernel state as l3ctl (links, MACs, IPv4 addresses and routes, ip_forward, iptables rules, bridge ports)');
      }
      t.reads.push((await run(['bash', readPath])).ms);
      progress(`floor: round ${i + 1}/${rounds}: the shell floor`);
      sb.clearKernel();
      t.script.push((await run(['bash', buildPath])).ms);
      t.reads.push((await run(['bash', readPath])).ms);
    }
    const procs = (buildScript.match(/^(ip|ip netns exec) /gm) ?? []).length;
    notes.push(`floor script: ${procs} processes (${FLOOR_ROUTERS + 1} ip -batch, ${FLOOR_ROUTERS} iptables-restore, ${FLOOR_ROUTERS} sysctl, 1 netns batch); read loop: ${2 * FLOOR_ROUTERS + 1} processes`);
    if (mutating.length) notes.push(`mutating commands of a converged sync: ${mutating.slice(0, 5).join(' | ')}${mutating.length > 5 ? ' …' : ''}`);
    return {
      title: `3. Floor: ${FLOOR_ROUTERS} routers × 2 ports × 5 FIPs (median of ${rounds} rounds)`,
      rows: [
        ratioRow('agent sync from empty / shell floor', median(t.sync), median(t.script), ratioGoal('<=', 1.5)),
        row('mutating commands in a converged agent sync', mutating.length, { op: '==', limit: 0, unit: '' }, `${mutating.length} (of ${commands} commands)`),
        ratioRow('converged agent sync / read-only shell loop', median(t.converged), median(t.reads), ratioGoal('<=', 2)),
      ],
      notes,
    };
  });
}
