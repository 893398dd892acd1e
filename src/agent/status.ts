// A live status for `router list --long` and `fip list --long`, from a cheap
// look at the kernel: the namespaces listed once, then per router the reads
// `agent check` does (one `ip -batch`, one iptables-save, one sysctl),
// routers concurrently. The verdict is the plan's, as for `agent check`:
// ACTIVE (handled here, the kernel as stored), DOWN (disabled or not handled
// here, and nothing of it left), DRIFT (sync would change something), ERROR
// (it could not be read).
import type { Config } from '../model/config.js';
import type { FloatingIp, Router, State } from '../model/types.js';
import type { RunOptions, RunResult, Runner } from '../linux/runner.js';
import { checkRouters } from './check.js';
import { skipReason } from './filters.js';
import type { System } from './pass.js';
import type { Finding } from './steps.js';

export type LiveStatus = 'ACTIVE' | 'DOWN' | 'DRIFT' | 'ERROR';

export interface RouterStatus {
  status: LiveStatus;
  findings: Finding[];
}

/** The namespace list read once for the whole observation. */
class OneListing implements Runner {
  private listed?: Promise<Set<string>>;
  constructor(private readonly inner: Runner) {}
  run(argv: string[], opts?: RunOptions): Promise<RunResult> {
    return this.inner.run(argv, opts);
  }
  background(argv: string[]): void {
    this.inner.background(argv);
  }
  namespaces(): Promise<Set<string>> {
    return (this.listed ??= this.inner.namespaces());
  }
  interactive(argv: string[]): Promise<number> {
    return this.inner.interactive(argv);
  }
}

/** Status of each router, by id. */
export async function routerStatuses(sys: System, state: State, config: Config, routers: Router[] = state.routers): Promise<Map<string, RouterStatus>> {
  const out = new Map<string, RouterStatus>();
  const res = await checkRouters({ ...sys, runner: new OneListing(sys.runner) }, state, config, routers);
  for (const r of res) {
    if (!r.router) continue;
    let status: LiveStatus;
    if (r.error) status = 'ERROR';
    else if (r.findings.length) status = 'DRIFT';
    else {
      let handled: boolean;
      try {
        handled = skipReason(state, config, r.router) === null;
      } catch {
        handled = false;
      }
      status = handled ? 'ACTIVE' : 'DOWN';
    }
    out.set(r.router.id, { status, findings: r.findings });
  }
  return out;
}

/** `203.0.113.2` in a finding's text, not `203.0.113.20`. */
const mentions = (f: Finding, ip: string) => {
  const re = new RegExp(`(^|[^\\d.])${ip.replace(/\./g, '\\.')}(?![\\d])`);
  return [f.object, f.expected ?? '', f.live ?? ''].some((t) => re.test(t));
};

/**
 * A floating IP's status from its router's: DOWN when it is not associated
 * (or its router is down); DRIFT when the router's namespace or gateway
 * device is not as stored, or a finding names the floating or fixed address.
 */
export function fipStatus(f: FloatingIp, routers: Map<string, RouterStatus>, gatewayDevice: (routerId: string) => string | null): LiveStatus {
  if (!f.router_id) return 'DOWN';
  const r = routers.get(f.router_id);
  if (!r) return 'DOWN';
  if (r.status !== 'DRIFT') return r.status;
  const qg = gatewayDevice(f.router_id);
  const ours = r.findings.some(
    (x) => x.kind === 'missing-namespace' || x.kind === 'unwanted-namespace' || (qg !== null && x.object === qg) || mentions(x, f.floating_ip_address) || (f.fixed_ip_address !== null && mentions(x, f.fixed_ip_address)),
  );
  return ours ? 'DRIFT' : 'ACTIVE';
}
