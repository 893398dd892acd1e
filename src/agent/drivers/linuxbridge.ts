// The linuxbridge driver (the default): a veth pair made with its `qr-`/`qg-`
// end directly in the router's namespace and its `tap…` end on the network's
// Linux bridge in the host namespace. l3ctl creates the network bridges
// (there is no L2 agent to do it), never the operator's external bridge.
import type { Config } from '../../model/config.js';
import { ApplyError } from '../../model/errors.js';
import { networkBridge } from '../../model/names.js';
import type { Network } from '../../model/types.js';
import type { Action } from '../../linux/actions.js';
import type { ObservedHost, ObservedLink } from '../../linux/observe.js';
import type { DesiredPort } from '../desired.js';
import type { Finding, Step } from '../steps.js';
import { deviceMtu, deviceMtuDrift, hostNamespaceSteps, step, type InterfaceDriver, type PortBridge, type PortSide } from './driver.js';

const ipIn = (ns: string | null, args: string[]) => (ns ? ['ip', '-n', ns, ...args] : ['ip', ...args]);

export interface WantedBridge {
  name: string;
  /** The operator's bridge (external_network_bridge): never created by l3ctl. */
  mustExist: boolean;
}

/** The host namespace (when l3ctl owns it) and the bridges the ports need. */
/** `ipv6Drift`: report a bridge of l3ctl's with IPv6 on (the networks' plan does, once a pass). */
export function planBridges(host: ObservedHost, bridges: WantedBridge[], ipv6Drift = false): Step[] {
  const out = hostNamespaceSteps(host);
  const seen = new Set<string>();
  for (const b of bridges) {
    if (seen.has(b.name)) continue;
    seen.add(b.name);
    const link = host.links.get(b.name);
    // IPv6 off on the bridges l3ctl makes, as Neutron's linuxbridge agent: a
    // bridge with IPv6 on would take an address from the advertisements of a
    // tenant network's router (radvd), making the host reachable from there.
    const ipv6Off: Action = { phase: 'host-sysctl', setting: `net.ipv6.conf.${b.name}.disable_ipv6=1` };
    if (ipv6Drift && link && !b.mustExist && link.ipv6) {
      out.push(step([{ kind: 'bridge-ipv6', object: b.name, expected: 'IPv6 off (disable_ipv6 1)', live: 'IPv6 on' }], [ipv6Off]));
    }
    if (link?.up) continue;
    if (link) {
      out.push(step([{ kind: 'bridge-down', object: b.name, expected: 'up', live: 'down' }], [{ phase: 'host', line: `link set ${b.name} up` }]));
    } else if (b.mustExist) {
      const error = new ApplyError(
        `external network bridge '${b.name}' does not exist${host.ns ? ` in namespace ${host.ns}` : ''}`,
        `create it, or plug gateways into the external network's own bridge: l3ctl config set external_network_bridge ''`,
      );
      out.push(step([{ kind: 'missing-bridge', object: b.name, expected: "present (external_network_bridge: the operator's bridge, sync does not create it)", live: null }], [{ phase: 'fail', error }]));
    } else {
      out.push(step([{ kind: 'missing-bridge', object: b.name, expected: 'present', live: null }], [
        { phase: 'host', line: `link add ${b.name} type bridge forward_delay 0` },
        { phase: 'host', line: `link set ${b.name} up` },
        ipv6Off,
      ]));
    }
  }
  return out;
}

function bridgeOf(config: Config, kind: DesiredPort['kind'], net: Network): PortBridge {
  const opBridge = kind === 'gateway' && config.external_network_bridge !== '';
  return opBridge ? { bridge: config.external_network_bridge, mustExist: true, option: 'external_network_bridge' } : { bridge: networkBridge(net), mustExist: false, option: null };
}

/**
 * A device with the port's name whose host end is not there (made by hand,
 * or its `tap` deleted): plugged into nothing, it cannot carry the port. It
 * is plugged again, as a new port.
 */
function replaces(p: DesiredPort, dev: ObservedLink, side: PortSide): Finding | null {
  const tap = side.host.links.get(p.tap);
  const expected = `the host end of ${p.device}, on ${p.bridge}`;
  if (!tap) return { kind: 'missing-device', object: p.tap, expected, live: null };
  // Both there, but not each other's other end: the device's real peer is elsewhere.
  const peer = dev.peer;
  // (undefined: a link a test built by hand; null: no veth at all, which cannot carry the port.)
  const paired = peer === undefined ? true : peer === null ? false : 'here' in peer ? peer.here === p.tap : peer.index === undefined || tap.ifindex === undefined || peer.index === tap.ifindex;
  return paired ? null : { kind: 'missing-device', object: p.tap, expected, live: `${p.tap} is there, but ${p.device} is paired with another device` };
}

/** A tap of l3ctl's making: its other end in another namespace, or (shared) the port's own device. Unknown (a test's link): taken as ours. */
const ownLeftover = (tap: ObservedLink, p: DesiredPort) => tap.peer === undefined || (tap.peer !== null && ('elsewhere' in tap.peer || tap.peer.here === p.device));

function plug(p: DesiredPort, side: PortSide, old?: ObservedLink): Action[] {
  const out: Action[] = [];
  // A device replaces() condemned goes first (a veth takes its peer along), so that the new pair can take its name.
  if (old) out.push({ phase: 'plug', argv: ipIn(side.ns, ['link', 'del', p.device]) });
  // A host end left over from a half-done plug (a veth whose other end is in a
  // router's namespace) is replaced, not reused. A device of that name that is
  // no such thing is not l3ctl's: the plug fails rather than delete it.
  const stale = side.host.links.get(p.tap);
  if (stale && !ownLeftover(stale, p)) {
    const what = stale.peer && 'here' in stale.peer ? `a veth whose other end, ${stale.peer.here}, is beside it` : 'no veth with its other end in a router namespace';
    const where = side.host.ns ? ` in namespace ${side.host.ns}` : '';
    out.push({ phase: 'fail', error: new ApplyError(`device ${p.tap}${where} is not l3ctl's (${what}): plugging port ${p.portId} would delete it`, `remove ${p.tap} by hand if it is a leftover, or give the port another id (--id)`) });
  } else if (stale) out.push({ phase: 'host', line: `link del ${p.tap}` });
  const peerNs = side.shared ? '' : ` netns ${side.ns}`;
  out.push(
    { phase: 'host', line: `link add ${p.tap} type veth peer name ${p.device}${peerNs}` },
    // Both ends, as the agent does with network_device_mtu.
    ...(p.mtu ? [{ phase: 'host' as const, line: `link set ${p.tap} mtu ${p.mtu}` }] : []),
    { phase: 'host', line: `link set ${p.tap} master ${p.bridge}` },
    { phase: 'host', line: `link set ${p.tap} up` },
    { phase: 'router', order: 'link', line: `link set ${p.device} address ${p.mac}` },
    ...deviceMtu(p),
    { phase: 'router', order: 'link', line: `link set ${p.device} up` },
  );
  return out;
}

/** The host end: on the right bridge (same port id, other network: re-plumbed), and up. */
function plugDrift(p: DesiredPort, dev: ObservedLink, side: PortSide): Step[] {
  const tap = side.host.links.get(p.tap);
  const out: Step[] = deviceMtuDrift(p, dev);
  if (tap && p.mtu && tap.mtu !== undefined && tap.mtu !== p.mtu) out.push(step([{ kind: 'wrong-mtu', object: p.tap, expected: `mtu ${p.mtu}`, live: `mtu ${tap.mtu}` }], [{ phase: 'host', line: `link set ${p.tap} mtu ${p.mtu}` }]));
  if (tap && tap.master !== p.bridge) out.push(step([{ kind: 'wrong-bridge', object: p.tap, expected: p.bridge, live: tap.master }], [{ phase: 'host', line: `link set ${p.tap} master ${p.bridge}` }]));
  if (tap && !tap.up) out.push(step([{ kind: 'device-down', object: p.tap, expected: 'up', live: 'down' }], [{ phase: 'host', line: `link set ${p.tap} up` }]));
  return out;
}

export const linuxbridge: InterfaceDriver = {
  name: 'linuxbridge',
  bridgeOf,
  observe: async () => null,
  planNetworks: (networks, host) => planBridges(host, networks.map((n) => ({ name: networkBridge(n), mustExist: false })), true),
  planBridges: (ports, side) => planBridges(side.host, ports.map((p) => ({ name: p.bridge, mustExist: p.bridgeMustExist }))),
  replaces,
  plug,
  plugDrift,
  // Deleting one end of a veth deletes both.
  unplug: (dev) => [{ phase: 'router', order: 'link-del', line: `link del ${dev.name}` }],
};
