// The ovs driver (Quantum's OVSInterfaceDriver without veth): each `qr-`/`qg-`
// device is an Open vSwitch internal port of that name, added with the
// agent's ovs-vsctl argv (external-ids for the L2 agent), which makes
// ovs-vswitchd create the device in its own namespace (host_namespace); l3ctl
// then moves it into the router's namespace. Internal ports go on
// ovs_integration_bridge, the gateway on external_network_bridge (empty: the
// integration bridge). l3ctl never creates an Open vSwitch bridge.
//
// What the switch's record and the namespace can disagree on, and the repair:
// - no record, or a record on another bridge: the device is replaced;
// - wrong external-ids: the plug argv again (--may-exist rewrites them);
// - a device up without carrier: stranded by an ovs-vswitchd restart, which
//   made a fresh one in its namespace; the stale one is deleted, the fresh one
//   moved in;
// - no device anywhere but a record: --may-exist would not recreate it, so
//   the port is deleted and added again, in two transactions.
import type { Config } from '../../model/config.js';
import { ApplyError } from '../../model/errors.js';
import type { Action } from '../../linux/actions.js';
import type { ObservedLink } from '../../linux/observe.js';
import { observeOvs, ovsPlugArgv, ovsPortDrift, ovsUnplugArgv, type ObservedOvs, type OvsPort } from '../../linux/ovs.js';
import type { DesiredPort } from '../desired.js';
import type { Finding, Step } from '../steps.js';
import { deviceMtu, deviceMtuDrift, hostNamespaceSteps, step, type HostSide, type InterfaceDriver, type PortBridge, type PortSide } from './driver.js';

/**
 * ovs-vsctl waits until ovs-vswitchd has applied a change; without one it
 * would wait forever, holding the store lock. The agent's plug has no
 * timeout and its unplug 2 s; a loaded host needs more than 2.
 */
const VSCTL_TIMEOUT = 10;

const ovsPort = (p: DesiredPort): OvsPort => ({ bridge: p.bridge, device: p.device, portId: p.portId, mac: p.mac });
const plugArgv = (p: DesiredPort) => ovsPlugArgv(ovsPort(p), { timeout: VSCTL_TIMEOUT });
const unplugArgv = (bridge: string | null, device: string) =>
  bridge ? ovsUnplugArgv(bridge, device, { timeout: VSCTL_TIMEOUT }) : ['ovs-vsctl', `--timeout=${VSCTL_TIMEOUT}`, '--', '--if-exists', 'del-port', device];
const ipIn = (ns: string | null, args: string[]) => (ns ? ['ip', '-n', ns, ...args] : ['ip', ...args]);

/** Up without carrier: no ovs-vswitchd holds this device any more. A down device cannot tell. */
const stranded = (dev: ObservedLink) => dev.up && !dev.carrier;

function switchOf(side: HostSide): ObservedOvs {
  if (!side.ovs) throw new Error('the ovs driver planned without a read of the switch');
  return side.ovs;
}

function bridgeOf(config: Config, kind: DesiredPort['kind']): PortBridge {
  const ext = kind === 'gateway' && config.external_network_bridge !== '';
  return ext
    ? { bridge: config.external_network_bridge, mustExist: true, option: 'external_network_bridge' }
    : { bridge: config.ovs_integration_bridge, mustExist: true, option: 'ovs_integration_bridge' };
}

function missingBridge(bridge: string, option: string | null): Step {
  const hint = option === 'external_network_bridge'
    ? `create it (ovs-vsctl add-br ${bridge}), or plug gateways into the integration bridge: l3ctl config set external_network_bridge ''`
    : `create it (ovs-vsctl add-br ${bridge}), or name one that exists: l3ctl config set ovs_integration_bridge BRIDGE`;
  const error = new ApplyError(`Open vSwitch bridge '${bridge}' does not exist${option ? ` (${option})` : ''}`, hint);
  return step([{ kind: 'missing-bridge', object: bridge, expected: 'present (an Open vSwitch bridge: l3ctl does not create it)', live: null }], [{ phase: 'fail', error }]);
}

function planBridges(ports: DesiredPort[], side: HostSide): Step[] {
  const out = hostNamespaceSteps(side.host);
  if (!ports.length) return out;
  const sw = switchOf(side);
  const seen = new Set<string>();
  for (const p of ports) {
    if (seen.has(p.bridge)) continue;
    seen.add(p.bridge);
    if (!sw.bridges.has(p.bridge)) out.push(missingBridge(p.bridge, p.bridgeOption));
  }
  return out;
}

function replaces(p: DesiredPort, dev: ObservedLink, side: PortSide): Finding | null {
  const rec = switchOf(side).interfaces.get(p.device);
  if (!rec) return { kind: 'missing-port', object: p.device, expected: `a port on ${p.bridge}`, live: 'on no Open vSwitch bridge' };
  if (rec.bridge !== p.bridge) return { kind: 'wrong-bridge', object: p.device, expected: p.bridge, live: rec.bridge };
  if (stranded(dev)) return { kind: 'no-carrier', object: p.device, expected: 'carrier (held by ovs-vswitchd)', live: 'up without carrier: stranded by an ovs-vswitchd restart' };
  return null;
}

function plug(p: DesiredPort, side: PortSide, old?: ObservedLink): Action[] {
  const rec = switchOf(side).interfaces.get(p.device);
  // A fresh device waiting in the host namespace: a half-done plug, or one
  // ovs-vswitchd made again on restart. Shared: that is the router's namespace.
  const waiting = side.shared ? undefined : side.host.links.get(p.device);
  const out: Action[] = [];
  // A device no ovs-vswitchd holds goes by hand; one it holds goes with its port.
  if (old && (!rec || stranded(old))) out.push({ phase: 'plug', argv: ipIn(side.ns, ['link', 'del', p.device]) });
  if (rec && rec.bridge === p.bridge && waiting) {
    if (ovsPortDrift(switchOf(side), ovsPort(p)).kind !== 'ok') out.push({ phase: 'plug', argv: plugArgv(p) });
  } else {
    if (rec) out.push({ phase: 'plug', argv: unplugArgv(rec.bridge, p.device) });
    else if (waiting) out.push({ phase: 'plug', argv: ipIn(side.host.ns, ['link', 'del', p.device]) });
    out.push({ phase: 'plug', argv: plugArgv(p) });
  }
  if (!side.shared) out.push({ phase: 'host', line: `link set ${p.device} netns ${side.ns}` });
  out.push(
    { phase: 'router', order: 'link', line: `link set ${p.device} address ${p.mac}` },
    ...deviceMtu(p),
    { phase: 'router', order: 'link', line: `link set ${p.device} up` },
  );
  return out;
}

/** The record's type and external-ids, as plug writes them (--may-exist rewrites them in place). */
function plugDrift(p: DesiredPort, dev: ObservedLink, side: PortSide): Step[] {
  const mtu = deviceMtuDrift(p, dev);
  const drift = ovsPortDrift(switchOf(side), ovsPort(p));
  if (drift.kind !== 'external-ids') return mtu;
  const h = drift.have;
  const text = (type: string, id: string | null, mac: string | null, status: string | null) => `type=${type || 'system'} iface-id=${id ?? '-'} attached-mac=${mac ?? '-'} iface-status=${status ?? '-'}`;
  return [...mtu, step(
    [{ kind: 'wrong-external-ids', object: p.device, expected: text('internal', p.portId, p.mac, 'active'), live: text(h.type, h.ifaceId, h.attachedMac, h.status) }],
    [{ phase: 'plug', argv: plugArgv(p) }],
  )];
}

/**
 * The agent's unplug: del-port, which takes the device with it wherever it
 * is (before the namespace goes: deleting a namespace leaves the record). A
 * device without a record, or stranded, is deleted by hand.
 */
function unplug(dev: ObservedLink, side: PortSide): Action[] {
  const rec = switchOf(side).interfaces.get(dev.name);
  const out: Action[] = [];
  if (!rec || stranded(dev)) out.push({ phase: 'router', order: 'link-del', line: `link del ${dev.name}` });
  if (rec) out.push({ phase: 'unplug', argv: unplugArgv(rec.bridge, dev.name) });
  return out;
}

export const ovs: InterfaceDriver = {
  name: 'ovs',
  bridgeOf,
  observe: observeOvs,
  planNetworks: (_networks, host) => hostNamespaceSteps(host),
  planBridges,
  replaces,
  plug,
  plugDrift,
  unplug,
};
