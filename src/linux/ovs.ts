// Open vSwitch for the `ovs` interface driver: the agent's ovs-vsctl argv
// (pure), and one read of the database that says which ports sit on which
// bridge with which external-ids.
//
// ovs-vsctl finds the database the usual way: OVS_RUNDIR (default
// /var/run/openvswitch) + /db.sock. l3ctl passes no --db, so an operator's
// (or a test's) exported OVS_RUNDIR is honoured as by every other OVS tool.
import { ApplyError } from '../model/errors.js';
import { CommandError, type Runner } from './runner.js';

export interface OvsPort {
  bridge: string;
  /** qr-… / qg-…: the OVS port, its interface and the device all carry this name. */
  device: string;
  /** The Quantum port id: external-ids:iface-id, what an L2 agent looks up. */
  portId: string;
  mac: string;
}

export interface VsctlOptions {
  /**
   * Global `--timeout=SECONDS`. A changing ovs-vsctl waits until ovs-vswitchd
   * has applied the change; with ovs-vswitchd gone it waits forever (the
   * database is already changed). The agent's plug has no timeout, its
   * unplug uses 2.
   */
  timeout?: number;
}

const globals = (o: VsctlOptions) => (o.timeout ? [`--timeout=${o.timeout}`] : []);

/**
 * The agent's plug (OVSInterfaceDriver.plug, no veth): one transaction that
 * adds the port as an internal interface, or, when it is already on this
 * bridge, rewrites its type and external-ids. A port of that name on another
 * bridge fails ("… is actually attached to bridge …"); so does a missing
 * bridge ("no bridge named …", exit 1).
 */
export function ovsPlugArgv(p: OvsPort, opts: VsctlOptions = {}): string[] {
  const set = (kv: string) => ['--', 'set', 'Interface', p.device, kv];
  return [
    'ovs-vsctl',
    ...globals(opts),
    '--', '--may-exist', 'add-port', p.bridge, p.device,
    ...set('type=internal'),
    ...set(`external-ids:iface-id=${p.portId}`),
    ...set('external-ids:iface-status=active'),
    ...set(`external-ids:attached-mac=${p.mac}`),
  ];
}

/**
 * The agent's unplug (OVSBridge.delete_port). A missing port is fine; a
 * missing bridge, or the port on another bridge, fails (exit 1).
 */
export function ovsUnplugArgv(bridge: string, device: string, opts: VsctlOptions = { timeout: 2 }): string[] {
  return ['ovs-vsctl', ...globals(opts), '--', '--if-exists', 'del-port', bridge, device];
}

/**
 * One process, three tables: bridges with their port uuids, ports with their
 * interface uuids, interfaces with type and external-ids. Reads do not wait
 * for ovs-vswitchd; the timeout only guards against a hung ovsdb-server.
 */
export const OVS_LIST_ARGV: readonly string[] = [
  'ovs-vsctl', '--timeout=10', '--format=json',
  '--', '--columns=name,ports', 'list', 'Bridge',
  '--', '--columns=_uuid,name,interfaces', 'list', 'Port',
  '--', '--columns=_uuid,name,type,external_ids,ofport,error', 'list', 'Interface',
];

export interface ObservedOvsInterface {
  name: string;
  /** '' for a system (plain) interface, 'internal' for an OVS internal port. */
  type: string;
  /** The bridge whose port holds this interface (null: an orphan row). */
  bridge: string | null;
  ifaceId: string | null;
  attachedMac: string | null;
  status: string | null;
  externalIds: Record<string, string>;
  /**
   * -1 with `error` set when ovs-vswitchd cannot open the device of a
   * non-internal port. An internal port whose device was deleted or moved
   * into a namespace keeps its ofport and shows no error: the database
   * cannot tell moved from gone; only the router namespace can.
   */
  ofport: number | null;
  error: string | null;
}

export interface ObservedOvs {
  /** Bridge name → names of its ports (the bridge's own internal port included). */
  bridges: Map<string, Set<string>>;
  /** Interface name → what the database holds for it. */
  interfaces: Map<string, ObservedOvsInterface>;
}

// OVSDB JSON atoms: ["uuid", u], ["set", [...]], ["map", [[k, v], ...]];
// a set of one element is written as that element alone.
type Datum = unknown;

function setOf(d: Datum): Datum[] {
  if (Array.isArray(d) && d[0] === 'set' && Array.isArray(d[1])) return d[1] as Datum[];
  return [d];
}

function uuidOf(d: Datum): string {
  if (Array.isArray(d) && d[0] === 'uuid' && typeof d[1] === 'string') return d[1];
  throw new Error(`expected a uuid, got ${JSON.stringify(d)}`);
}

function mapOf(d: Datum): Record<string, string> {
  if (!(Array.isArray(d) && d[0] === 'map' && Array.isArray(d[1]))) throw new Error(`expected a map, got ${JSON.stringify(d)}`);
  return Object.fromEntries((d[1] as [string, string][]).map(([k, v]) => [String(k), String(v)]));
}

/** An optional scalar: the value, or null for the empty set. */
function optional<T>(d: Datum): T | null {
  const s = setOf(d);
  return s.length ? (s[0] as T) : null;
}

interface Table {
  headings: string[];
  data: Datum[][];
}

function rows(t: Table): Record<string, Datum>[] {
  return t.data.map((r) => Object.fromEntries(t.headings.map((h, i) => [h, r[i]])));
}

/** Parses the output of OVS_LIST_ARGV (one JSON table per line, Bridge, Port, Interface). */
export function parseOvsList(stdout: string): ObservedOvs {
  const tables = stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Table);
  if (tables.length !== 3) throw new Error(`ovs-vsctl list: expected 3 tables, got ${tables.length}`);
  const [bridgeRows, portRows, ifaceRows] = tables.map(rows) as [Record<string, Datum>[], Record<string, Datum>[], Record<string, Datum>[]];

  const portByUuid = new Map<string, { name: string; interfaces: string[] }>();
  for (const p of portRows) portByUuid.set(uuidOf(p._uuid), { name: String(p.name), interfaces: setOf(p.interfaces).map(uuidOf) });

  const bridges = new Map<string, Set<string>>();
  const bridgeOfIface = new Map<string, string>();
  for (const b of bridgeRows) {
    const name = String(b.name);
    const ports = new Set<string>();
    for (const u of setOf(b.ports).map(uuidOf)) {
      const port = portByUuid.get(u);
      if (!port) continue; // a row written between the three reads of one transaction cannot happen; be lenient anyway
      ports.add(port.name);
      for (const i of port.interfaces) bridgeOfIface.set(i, name);
    }
    bridges.set(name, ports);
  }

  const interfaces = new Map<string, ObservedOvsInterface>();
  for (const i of ifaceRows) {
    const ids = mapOf(i.external_ids);
    const name = String(i.name);
    interfaces.set(name, {
      name,
      type: String(i.type ?? ''),
      bridge: bridgeOfIface.get(uuidOf(i._uuid)) ?? null,
      ifaceId: ids['iface-id'] ?? null,
      attachedMac: ids['attached-mac']?.toLowerCase() ?? null,
      status: ids['iface-status'] ?? null,
      externalIds: ids,
      ofport: optional<number>(i.ofport),
      error: optional<string>(i.error),
    });
  }
  return { bridges, interfaces };
}

/** Where ovs-vsctl looks for the database, for error messages. */
export function ovsDbLocation(env: NodeJS.ProcessEnv = process.env): string {
  return `unix:${env.OVS_RUNDIR || '/var/run/openvswitch'}/db.sock`;
}

/** The whole switch as the database reports it now (one ovs-vsctl, a read: runs under --dry-run). */
export async function observeOvs(runner: Runner): Promise<ObservedOvs> {
  try {
    const r = await runner.run([...OVS_LIST_ARGV], { read: true });
    return parseOvsList(r.stdout);
  } catch (e) {
    if (e instanceof CommandError) {
      throw new ApplyError(
        `cannot read the Open vSwitch database at ${ovsDbLocation()}: ${e.result.stderr.trim().replace(/^ovs-vsctl: /, '').replace(/^(unix|tcp|ssl):\S+: /, '') || `exit ${e.result.exitCode}`}`,
        'interface_driver ovs needs a running ovsdb-server and ovs-vswitchd; set OVS_RUNDIR if its socket is not in /var/run/openvswitch',
      );
    }
    throw e;
  }
}

/** The config's bridges that the switch does not have, in the order given. */
export function missingBridges(obs: ObservedOvs, wanted: string[]): string[] {
  return [...new Set(wanted.filter((b) => b && !obs.bridges.has(b)))];
}

export type OvsPortDrift =
  | { kind: 'ok' }
  | { kind: 'absent' }
  | { kind: 'other-bridge'; bridge: string | null }
  | { kind: 'external-ids'; have: { ifaceId: string | null; attachedMac: string | null; status: string | null; type: string } };

/**
 * How the database's record of one wanted port differs from what plug
 * writes. 'absent' and 'external-ids' are repaired by the plug argv itself
 * (--may-exist rewrites the columns); 'other-bridge' needs an unplug from
 * that bridge first. Whether the device exists is for the namespace to say.
 */
export function ovsPortDrift(obs: ObservedOvs, want: OvsPort): OvsPortDrift {
  const i = obs.interfaces.get(want.device);
  if (!i) return { kind: 'absent' };
  if (i.bridge !== want.bridge) return { kind: 'other-bridge', bridge: i.bridge };
  if (i.type !== 'internal' || i.ifaceId !== want.portId || i.attachedMac !== want.mac.toLowerCase() || i.status !== 'active') {
    return { kind: 'external-ids', have: { ifaceId: i.ifaceId, attachedMac: i.attachedMac, status: i.status, type: i.type } };
  }
  return { kind: 'ok' };
}

/** Router ports (qr-/qg-) on BRIDGES that no wanted device accounts for: what cleanup unplugs. */
export function strayRouterPorts(obs: ObservedOvs, bridges: string[], wantedDevices: Set<string>): { bridge: string; device: string }[] {
  const out: { bridge: string; device: string }[] = [];
  for (const b of bridges) {
    for (const p of [...(obs.bridges.get(b) ?? [])].sort()) {
      if (/^q[rg]-/.test(p) && !wantedDevices.has(p)) out.push({ bridge: b, device: p });
    }
  }
  return out;
}

/**
 * The OVS ports among a namespace's devices (as Neutron's netns cleanup does
 * with iface-to-br): deleting a namespace destroys the devices in it but
 * leaves their port records on the bridges, so these are unplugged first.
 */
export function ovsPortsOfDevices(obs: ObservedOvs, devices: Iterable<string>): { bridge: string; device: string }[] {
  const out: { bridge: string; device: string }[] = [];
  for (const d of devices) {
    const bridge = obs.interfaces.get(d)?.bridge;
    if (bridge) out.push({ bridge, device: d });
  }
  return out;
}
