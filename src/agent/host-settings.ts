// The kernel settings of the namespace holding the bridges (the host's own,
// or host_namespace) that l3ctl would want, who sets them and why. l3ctl
// writes sysctls only in namespaces it owns; in the host's real namespace
// the one it writes is ip_forward for a use_namespaces false router (with a
// warning, plan.ts). The rest is the operator's to set: `agent status` lists
// it (and `diagnose host` can check it).
import type { Config } from '../model/config.js';
import type { Runner } from '../linux/runner.js';

export interface HostSetting {
  /** null: the host's own namespace. */
  namespace: string | null;
  setting: string;
  wanted: string;
  /** l3ctl: set by every sync; operator: l3ctl leaves it alone. */
  set_by: 'l3ctl' | 'operator';
  why: string;
}

export interface ObservedHostSetting extends HostSetting {
  /** What the kernel reports; 'absent': no such key (br_netfilter not loaded); null: could not be read. */
  live: string | null;
  ok: boolean | null;
}

const BRIDGE_NF = 'net.bridge.bridge-nf-call-iptables';

/** Pure: what l3ctl would want, for this configuration. */
export function wantedHostSettings(config: Config): HostSetting[] {
  const ns = config.host_namespace;
  const own = ns !== null;
  const shared = !config.use_namespaces;
  const by = own ? 'l3ctl' : 'operator';
  const out: HostSetting[] = [];
  if (shared) {
    out.push(
      { namespace: ns, setting: 'net.ipv4.ip_forward', wanted: '1', set_by: 'l3ctl', why: `the router_id router forwards in this namespace (use_namespaces false)${own ? '' : '; set with a warning, the only setting l3ctl writes in the host\'s own namespace'}` },
      { namespace: ns, setting: 'net.ipv4.conf.all.promote_secondaries', wanted: '1', set_by: by, why: 're-addressing a port within its subnet keeps the new address, and the routes through it, when the old primary goes' },
      { namespace: ns, setting: 'net.ipv4.conf.all.arp_ignore', wanted: '1', set_by: by, why: "the router shares this namespace with its bridges: without it the bridges answer ARP for the router's addresses with their own MAC" },
      { namespace: ns, setting: BRIDGE_NF, wanted: '0', set_by: by, why: "the router shares this namespace with its bridges: the bridged hop of a flow would fix its conntrack entry before the router's SNAT" },
    );
  } else if (!own) {
    // A host_namespace of l3ctl's own has an empty FORWARD chain: nothing there to pass.
    out.push({ namespace: null, setting: BRIDGE_NF, wanted: '0', set_by: 'operator', why: "l3ctl's bridges are here: with br_netfilter, traffic bridged between VMs and routers passes this namespace's iptables FORWARD chain (a DROP policy, as Docker sets, cuts it)" });
  }
  return out;
}

/** Is the live value what is wanted? No bridge netfilter at all is as good as 0. */
function matches(s: HostSetting, live: string | null): boolean | null {
  if (live === null) return null;
  if (live === 'absent') return s.setting === BRIDGE_NF;
  return live === s.wanted;
}

/** Read each setting where it applies. Never fails: what cannot be read is null. */
export async function observeHostSettings(runner: Runner, settings: HostSetting[]): Promise<ObservedHostSetting[]> {
  const present = await runner.namespaces();
  return Promise.all(settings.map(async (s) => {
    let live: string | null = null;
    if (s.namespace === null || present.has(s.namespace)) {
      const argv = ['sysctl', '-n', s.setting];
      try {
        const r = await runner.run(s.namespace ? ['ip', 'netns', 'exec', s.namespace, ...argv] : argv, { read: true, okCodes: [1, 255] });
        live = r.exitCode === 0 ? r.stdout.trim() : /cannot stat|No such file/.test(r.stderr) ? 'absent' : null;
      } catch {
        live = null;
      }
    }
    return { ...s, live, ok: matches(s, live) };
  }));
}
