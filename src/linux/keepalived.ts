// keepalived for one HA router: the keepalived.conf l3ctl writes (the
// layout Neutron's L3 HA uses), the files beside it, the argv that starts
// it, and how its VRRP state is read back. Pure: nothing here runs a program
// or touches a file, so the planner, `agent check` and unit tests share it.
import { contains, fromInt, networkOf, overlaps, parseCidr, toInt } from '../model/addr.js';

/** The HA port's device in the router namespace, named like `qr-`/`qg-` (src/model/names.ts). */
export { HA_DEV_PREFIX, haDevice } from '../model/names.js';

/** Neutron hands out VRRP ids 1..254 per HA network (keepalived accepts 255 too). */
import { VR_ID_MAX, VR_ID_MIN } from '../model/ha.js';
import { byText } from '../model/order.js';
export { VR_ID_MAX, VR_ID_MIN };
/** Neutron's priority for every node: equal priorities plus nopreempt, so a master keeps the router until it fails. */
export const HA_PRIORITY = 50;
/** Second burst of gratuitous ARPs this many seconds after becoming master (Neutron's value). */
export const GARP_MASTER_DELAY = 60;
/** Gratuitous ARPs per address in each burst (keepalived's default, written out). */
export const GARP_MASTER_REPEAT = 5;

export type AuthType = 'PASS' | 'AH';
export const AUTH_TYPES: readonly AuthType[] = ['PASS', 'AH'];
export type HaState = 'master' | 'backup' | 'fault';
/** What `router list -c ha_state` shows: keepalived's own word, or why there is none. */
export type HaStatus = HaState | 'unknown' | 'stopped';

export interface VirtualAddress {
  cidr: string; // address with its prefix: 198.51.100.1/24, 203.0.113.20/32
  dev: string;
}

export interface VirtualRoute {
  dst: string; // 'default' or a CIDR
  via: string;
  dev: string | null;
}

export interface HaInstance {
  vrId: number;
  haDevice: string;
  /** CIDRs of the HA network: the primary VIP's /24 is chosen outside them. */
  haCidrs: string[];
  advertInt: number;
  auth: { type: AuthType; password: string } | null;
  /** Internal and gateway addresses and floating IPs: keepalived adds them on the master only. */
  addresses: VirtualAddress[];
  /** The default route and extra routes: on the master only. */
  routes: VirtualRoute[];
  /** Absolute directory holding the config, the notify script and the state file. */
  dir: string;
}

export interface KeepalivedFiles {
  dir: string;
  conf: string;
  pid: string;
  vrrpPid: string;
  state: string;
  notify: string;
  /** Writing 1 here puts the instance in FAULT: a master hands over at once (priority-0 advert) and keepalived keeps running. */
  standby: string;
}

export function keepalivedFiles(dir: string): KeepalivedFiles {
  const at = (f: string) => `${dir.replace(/\/+$/, '')}/${f}`;
  return {
    dir,
    conf: at('keepalived.conf'),
    pid: at('keepalived.pid'),
    vrrpPid: at('keepalived-vrrp.pid'),
    state: at('state'),
    notify: at('notify.sh'),
    standby: at('standby'),
  };
}

/** The lowest VRRP id not taken by another HA router on the same HA network; stored with the router, so every node renders the same one. */
export function allocateVrId(taken: Iterable<number>): number {
  const used = new Set(taken);
  for (let id = VR_ID_MIN; id <= VR_ID_MAX; id++) if (!used.has(id)) return id;
  throw new Error(`no free VRRP id: all ${VR_ID_MAX} ids of the HA network are taken`);
}

// Link-local ranges the primary VIP must stay out of, as Neutron: the
// metadata address and the DVR floating-IP link range.
const LINK_LOCAL = '169.254.0.0/16';
const RESERVED = ['169.254.169.254/32', '169.254.64.0/18'];

/** The first /24 of 169.254.0.0/16 clear of the metadata address, the DVR range and the HA network. */
export function primaryVipRange(haCidrs: string[]): string {
  const excluded = [...RESERVED, ...haCidrs.map(networkOf)];
  const start = toInt(parseCidr(LINK_LOCAL)!.addr);
  for (let block = 0; block < 256; block++) {
    const cidr = `${fromInt(start + block * 256)}/24`;
    if (!excluded.some((x) => overlaps(x, cidr))) return cidr;
  }
  throw new Error(`no free /24 in ${LINK_LOCAL} outside ${excluded.join(', ')}`);
}

/**
 * The one address in `virtual_ipaddress`: <range>.<vr_id>/24 on the ha-
 * device. It is the same on every node and never changes, so a reload never
 * has to swap the primary VIP (keepalived can drop the virtual routes then).
 */
export function primaryVip(vrId: number, haCidrs: string[]): string {
  const range = parseCidr(primaryVipRange(haCidrs))!;
  return `${fromInt(toInt(range.addr) + vrId)}/24`;
}

const SAFE_WORD = /^[A-Za-z0-9_.:/-]+$/;
const SAFE_PATH = /^\/[A-Za-z0-9_.\/-]+$/;

function word(what: string, v: string): string {
  if (!SAFE_WORD.test(v)) throw new Error(`keepalived ${what} '${v}' has characters keepalived.conf cannot carry`);
  return v;
}

function checkInstance(i: HaInstance): void {
  if (!Number.isInteger(i.vrId) || i.vrId < VR_ID_MIN || i.vrId > VR_ID_MAX) throw new Error(`VRRP id ${i.vrId} is outside ${VR_ID_MIN}-${VR_ID_MAX}`);
  if (!Number.isInteger(i.advertInt) || i.advertInt < 1 || i.advertInt > 255) throw new Error(`advert interval ${i.advertInt} is outside 1-255 seconds`);
  if (!SAFE_PATH.test(i.dir)) throw new Error(`keepalived directory '${i.dir}' must be an absolute path of [A-Za-z0-9_./-]`);
  if (i.auth) {
    if (!AUTH_TYPES.includes(i.auth.type)) throw new Error(`VRRP auth type '${i.auth.type}' is not PASS or AH`);
    // keepalived keeps only the first 8 characters of a password.
    if (!/^[\x21-\x7e]{1,8}$/.test(i.auth.password) || /["'#!]/.test(i.auth.password))
      throw new Error('VRRP password must be 1-8 printable characters without quotes, # or !');
  }
}

const routeDst = (dst: string) => (dst === 'default' ? '0.0.0.0/0' : dst);

function routeLine(r: VirtualRoute): string {
  let s = `${word('route', routeDst(r.dst))} via ${word('nexthop', r.via)}`;
  if (r.dev) s += ` dev ${word('device', r.dev)}`;
  return s;
}

const byAddress = (a: VirtualAddress, b: VirtualAddress) => {
  const pa = parseCidr(a.cidr)!;
  const pb = parseCidr(b.cidr)!;
  return toInt(pa.addr) - toInt(pb.addr) || pa.prefix - pb.prefix || byText(a.dev, b.dev);
};

function block(name: string, lines: string[]): string[] {
  return [`    ${name} {`, ...lines.map((l) => `        ${l}`), '    }'];
}

/** keepalived.conf for one HA router: one VRRP instance on its ha- device. */
export function renderKeepalivedConf(i: HaInstance): string {
  checkInstance(i);
  const files = keepalivedFiles(i.dir);
  const ha = word('device', i.haDevice);
  const lines = [
    'global_defs {',
    '    router_id l3ctl',
    // Notify scripts run as root, and only from paths no other user can write.
    '    script_user root',
    '    enable_script_security',
    '}',
    // `router standby`: 1 in this file faults the instance (a master hands
    // over), 0 lets it back as BACKUP. Reset to 0 whenever keepalived starts.
    'track_file standby {',
    `    file "${files.standby}"`,
    '    init_file 0 overwrite',
    '}',
    `vrrp_instance VR_${i.vrId} {`,
    '    state BACKUP',
    `    interface ${ha}`,
    `    virtual_router_id ${i.vrId}`,
    `    priority ${HA_PRIORITY}`,
    `    garp_master_delay ${GARP_MASTER_DELAY}`,
    `    garp_master_repeat ${GARP_MASTER_REPEAT}`,
    '    nopreempt',
    `    advert_int ${i.advertInt}`,
  ];
  if (i.auth) lines.push(...block('authentication', [`auth_type ${i.auth.type}`, `auth_pass ${i.auth.password}`]));
  // No track_interface for the ha- device: keepalived tracks its own
  // interface anyway, and 2.2's `keepalived -t` fails a config that names it.
  lines.push(...block('virtual_ipaddress', [`${primaryVip(i.vrId, i.haCidrs)} dev ${ha}`]));
  if (i.addresses.length) {
    const sorted = [...i.addresses].sort(byAddress);
    lines.push(...block('virtual_ipaddress_excluded', sorted.map((a) => `${word('address', a.cidr)} dev ${word('device', a.dev)}`)));
  }
  if (i.routes.length) lines.push(...block('virtual_routes', i.routes.map(routeLine)));
  lines.push(...block('track_file', ['standby weight 0']));
  for (const s of ['master', 'backup', 'fault'] as const) lines.push(`    notify_${s} "${files.notify} ${s}"`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

/**
 * The notify script beside the config: keepalived runs it with the new
 * state on each transition; it replaces the state file in one rename, so a
 * reader never sees it half written.
 */
export const NOTIFY_SCRIPT = `#!/bin/sh
# Written by l3ctl. keepalived runs this on each VRRP transition with the
# new state (master, backup or fault); l3ctl reads it from ./state.
d=$(dirname "$0")
printf '%s\\n' "$1" > "$d/state.$$" && mv -f "$d/state.$$" "$d/state"
`;

/** Start keepalived in the router namespace (the caller prefixes `ip netns exec NS`): VRRP only, own pid files. */
export function keepalivedArgv(f: KeepalivedFiles, opts: { foreground?: boolean } = {}): string[] {
  const argv = ['keepalived', '-P', '-f', f.conf, '-p', f.pid, '-r', f.vrrpPid];
  // Foreground with the log on stderr: for tests, where there is no syslog.
  if (opts.foreground) argv.push('-n', '-l', '-D');
  return argv;
}

/** Checks the config (inside the namespace, where its devices exist): exit 0 or the first error on stderr. */
export const keepalivedCheckArgv = (f: KeepalivedFiles): string[] => ['keepalived', '-t', '-f', f.conf];

/** The pid in a pid file, or null. */
export function pidOf(text: string | null): number | null {
  const m = /^\s*(\d+)\s*$/.exec(text ?? '');
  const pid = m ? Number(m[1]) : 0;
  return pid > 1 ? pid : null;
}

/** Whether /proc/PID/cmdline (NUL-separated) is keepalived run on this config: a pid file can outlive its process and the pid be reused. */
export function isOurKeepalived(cmdline: string | null, f: KeepalivedFiles): boolean {
  if (!cmdline) return false;
  const argv = cmdline.split('\0');
  const prog = argv[0]?.split('/').pop();
  const conf = argv.indexOf('-f');
  return prog === 'keepalived' && conf > 0 && argv[conf + 1] === f.conf;
}

export function parseHaState(text: string | null): HaState | null {
  const s = (text ?? '').trim().toLowerCase();
  return s === 'master' || s === 'backup' || s === 'fault' ? s : null;
}

/**
 * The state to show: keepalived's last notification while it runs. A dead
 * keepalived's file still says what it was, so liveness comes first.
 */
export function haStatus(stateText: string | null, alive: boolean): HaStatus {
  if (!alive) return 'stopped';
  return parseHaState(stateText) ?? 'unknown';
}

/** What keepalived owns in an HA router, from the router as the planner sees it. */
export interface RouterAddresses {
  ports: { device: string; ip: string; prefixlen: number }[];
  gateway: { device: string } | null;
  fips: { fip: string }[];
  routes: VirtualRoute[];
}

/**
 * An extra route gets the device of the port whose subnet holds its
 * nexthop: keepalived tracks a virtual route only with a device (without
 * one it warns, and `keepalived -t` fails).
 */
export function keepalivedOwned(r: RouterAddresses): { addresses: VirtualAddress[]; routes: VirtualRoute[] } {
  const addresses = r.ports.map((p) => ({ cidr: `${p.ip}/${p.prefixlen}`, dev: p.device }));
  if (r.gateway) for (const f of r.fips) addresses.push({ cidr: `${f.fip}/32`, dev: r.gateway.device });
  const deviceFor = (via: string) => r.ports.find((p) => contains(networkOf(`${p.ip}/${p.prefixlen}`), via))?.device ?? null;
  return { addresses, routes: r.routes.map((x) => ({ ...x, dev: x.dev ?? deviceFor(x.via) })) };
}
