// Section 9 — HA failover (issue 20): one HA router on two simulated nodes
// (test/helpers/nodes.ts), built by l3ctl with ha_vrrp_advert_int 1. Each
// round: a 0.1 s ping stream from the upstream host to the floating IP
// while the master crashes (both keepalived processes killed, the node cut
// off); the longest gap is the node-failure figure. The old master is
// plugged back and `agent sync` restarts its keepalived (it stays backup);
// then `router standby` on the new master, with its own ping stream: the
// graceful figure. Roles swap every round.
import { startNodes, type Node } from '../test/helpers/nodes.js';
import { pingStream } from '../test/helpers/stream.js';
import { FIP, buildHaRouter, copyRouter, crash, haView, ok, waitFor } from '../test/helpers/ha-router.js';
import { fmtMs, info, missing, progress, row, type Section } from './lib/report.js';
import { median } from './lib/proc.js';

const ADVERT_INT = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchHa(rounds: number): Promise<Section> {
  const title = '9. HA failover';
  const { spawnSync } = await import('node:child_process');
  if (spawnSync('keepalived', ['--version']).error) {
    return { title, rows: [missing('HA failover', 'skipped: keepalived is not installed (apt-get install keepalived)')], notes: [] };
  }
  const env = await startNodes(['a', 'b']);
  try {
    const [a, b] = [env.node('a'), env.node('b')];
    progress('ha: one HA router on two simulated nodes');
    const v = haView(await buildHaRouter(a, { nodeAddress: '169.254.192.1', advertInt: ADVERT_INT }));
    await ok(b, ['config', 'set', 'ha_node_address', '169.254.192.2']);
    await copyRouter(a, b, 'r1');
    const up = ['ip', 'netns', 'exec', env.fabric.upstream];
    const other = (n: Node) => (n === a ? b : a);
    await waitFor('one master', () => [a, b].some((n) => v.stateOf(n) === 'master') && [a, b].some((n) => v.stateOf(n) === 'backup'), 20_000);
    const crashGaps: number[] = [];
    const standbyGaps: number[] = [];
    const takeovers: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const master = v.stateOf(a) === 'master' ? a : b;
      progress(`ha: round ${i + 1}/${rounds}: crash of the master (node ${master.name})`);
      let stream = pingStream(up, FIP);
      await sleep(1000);
      crash(env, master, v.pids(master));
      takeovers.push(await waitFor('the peer master', () => v.stateOf(other(master)) === 'master'));
      await sleep(1000);
      crashGaps.push((await stream.stop()).maxGapMs);
      env.setUplinks(master.name, true);
      await ok(master, ['agent', 'sync']);
      await waitFor('the old master backup', () => v.stateOf(master) === 'backup');
      await sleep(ADVERT_INT * 4000);
      progress(`ha: round ${i + 1}/${rounds}: router standby on node ${other(master).name}`);
      stream = pingStream(up, FIP);
      await sleep(1000);
      await ok(other(master), ['router', 'standby', 'r1']);
      await waitFor('the old master master again', () => v.stateOf(master) === 'master');
      await sleep(1500);
      standbyGaps.push((await stream.stop()).maxGapMs);
      await sleep(ADVERT_INT * 2000);
    }
    const worst = (xs: number[]) => Math.max(...xs);
    return {
      title,
      rows: [
        row('node failure: longest ping gap (worst of rounds)', worst(crashGaps), { op: '<=', limit: 5000, unit: ' ms' }, `${fmtMs(worst(crashGaps))} (median ${fmtMs(median(crashGaps))})`),
        info('node failure: peer notified master after', `${fmtMs(median(takeovers))} median`),
        row('router standby: longest ping gap (worst of rounds)', worst(standbyGaps), { op: '<=', limit: 1500, unit: ' ms' }, `${fmtMs(worst(standbyGaps))} (median ${fmtMs(median(standbyGaps))})`),
      ],
      notes: [
        `ha_vrrp_advert_int ${ADVERT_INT}; ${rounds} round(s); a 0.1 s ping stream from the upstream host to the floating IP; the crash kills both keepalived processes (SIGSTOP, SIGKILL) and cuts the node off the fabric`,
        `node failure gaps: ${crashGaps.map((g) => `${g} ms`).join(', ')}; standby gaps: ${standbyGaps.map((g) => `${g} ms`).join(', ')}`,
      ],
    };
  } finally {
    env.stop();
  }
}
