// Runs a plan: one process per kind of work and namespace, in the order the
// agent needs (plug, addresses and routes, NAT, floating IPs, sysctl, ARP).
import type { Plan } from '../agent/plan.js';
import type { Runner } from './runner.js';

const ipBatch = (ns: string | null) => (ns ? ['ip', '-n', ns, '-batch', '-'] : ['ip', '-batch', '-']);
const exec = (ns: string | null, argv: string[]) => (ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv);
const batchInput = (lines: string[]) => lines.join('\n') + '\n';

export interface ApplyOptions {
  hostNs: string | null;
  sendArpForHa: number;
}

export async function applyPlan(runner: Runner, plan: Plan, opts: ApplyOptions): Promise<void> {
  const ns = plan.ns;
  if (plan.createNamespaces.length === 1) await runner.run(['ip', 'netns', 'add', plan.createNamespaces[0]!]);
  else if (plan.createNamespaces.length > 1) {
    await runner.run(ipBatch(null), { input: batchInput(plan.createNamespaces.map((n) => `netns add ${n}`)) });
  }
  if (plan.hostBatch.length) await runner.run(ipBatch(opts.hostNs), { input: batchInput(plan.hostBatch) });
  if (plan.routerBatch.length) await runner.run(ipBatch(ns), { input: batchInput(plan.routerBatch) });
  if (plan.restore !== null) await runner.run(exec(ns, ['iptables-restore', '-w', '--noflush']), { input: plan.restore });
  if (plan.fipBatch.length) await runner.run(ipBatch(ns), { input: batchInput(plan.fipBatch) });
  if (plan.setForwarding) await runner.run(exec(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.promote_secondaries=1']));
  if (plan.hostSysctls.length) await runner.run(exec(ns, ['sysctl', '-q', '-w', ...plan.hostSysctls]));
  for (const m of plan.conntrack) {
    // conntrack -D exits 1 when nothing matched: that is not a failure.
    await runner.run(exec(ns, ['conntrack', '-D', '-d', m.fip]), { okCodes: [1] });
    await runner.run(exec(ns, ['conntrack', '-D', '-s', m.fixed]), { okCodes: [1] });
  }
  if (opts.sendArpForHa > 0) {
    const n = String(opts.sendArpForHa);
    const deadline = String(Math.ceil(opts.sendArpForHa * 1.5));
    for (const g of plan.garp) runner.background(exec(ns, ['arping', '-q', '-A', '-I', g.dev, '-c', n, '-w', deadline, g.ip]));
  }
  if (plan.deleteNamespace && ns) await runner.run(['ip', 'netns', 'del', ns]);
}
