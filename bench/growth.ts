// Section 2 — growth: one whole `fip associate` process on a router that
// already holds 200 floating IPs against one that holds 3 (cost should follow
// what changes, not the router's size), and against bare `node -e 0`
// (gratuitous ARP is never waited for). Each association is undone with
// `fip delete` (not timed) so every round starts from the same kernel.
import { l3ctl, median, NODE, run } from './lib/proc.js';
import { withSandbox } from './lib/kernel.js';
import { fmtMs, info, progress, ratioGoal, ratioRow, type Section } from './lib/report.js';
import { growthShape } from './lib/topology.js';

export async function benchGrowth(rounds: number): Promise<Section> {
  return withSandbox('growth', async (sb) => {
    const g = growthShape(sb.config);
    sb.writeStore(g.state);
    progress(`growth: building a router with ${g.big.fips} FIPs and one with ${g.small.fips} (agent sync)`);
    const build = (await l3ctl(sb.store, ['agent', 'sync', '-q'])).ms;
    const t = { node: [] as number[], big: [] as number[], small: [] as number[], del: [] as number[] };
    const assoc = async (x: typeof g.big) => (await l3ctl(sb.store, ['fip', 'associate', x.spare.fip, x.spare.fixed, '--router', x.router, '-q'])).ms;
    const undo = async (x: typeof g.big) => t.del.push((await l3ctl(sb.store, ['fip', 'delete', x.spare.fip, '--yes', '-q'])).ms);
    // One untimed pass warms the page cache and the store's code paths.
    for (const x of [g.big, g.small]) await assoc(x), await undo(x);
    t.del.length = 0;
    for (let i = 0; i < rounds; i++) {
      progress(`growth: round ${i + 1}/${rounds}`);
      t.node.push((await run([NODE, '-e', '0'])).ms);
      // Alternate which router goes first, so that neither always follows the same command.
      for (const x of i % 2 ? [g.small, g.big] : [g.big, g.small]) {
        (x === g.big ? t.big : t.small).push(await assoc(x));
        await undo(x);
      }
    }
    const [n, b, s] = [median(t.node), median(t.big), median(t.small)];
    return {
      title: `2. Growth: fip associate (median of ${rounds} interleaved rounds)`,
      rows: [
        ratioRow(`fip associate on ${g.big.fips} FIPs / on ${g.small.fips} FIPs`, b, s, ratioGoal('<=', 1.2)),
        ratioRow(`fip associate (router with ${g.small.fips} FIPs) / node -e 0`, s, n, ratioGoal('<=', 2)),
        ratioRow(`fip associate (router with ${g.big.fips} FIPs) / node -e 0`, b, n, null),
        info('fip delete (the undo, for information)', fmtMs(median(t.del))),
        info(`agent sync building both routers (${g.big.fips + g.small.fips} FIPs, once)`, fmtMs(build)),
      ],
      notes: [],
    };
  });
}
