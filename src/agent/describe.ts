// What a pass changed, in words for the operator: `+fip 203.0.113.20,
// route 192.0.2.0/24 replaced, NAT: +2 rules`. Read off the findings of the
// plans that ran (each finding is one thing the apply put right); pure.
import { EXTERNAL_DEV_PREFIX } from '../model/names.js';
import type { Finding } from './steps.js';

/** Phrases beyond this many are counted, not listed. */
const MAX_PHRASES = 8;

const DAEMON_NAMES: Record<string, string> = { haproxy: 'metadata proxy', radvd: 'router advertisements (radvd)', keepalived: 'keepalived' };
const daemonName = (kind: string) => DAEMON_NAMES[kind] ?? kind;

/** `203.0.113.20/32 on qg-…`: a floating IP's address. */
function fipOf(f: Finding): string | null {
  const m = /^(\S+)\/32 on (\S+)$/.exec(f.object);
  return m && m[2]!.startsWith(EXTERNAL_DEV_PREFIX) ? m[1]! : null;
}

const isNat = (f: Finding) => f.kind === 'missing-nat-rule' || f.kind === 'extra-nat-rule' || f.kind === 'missing-nat-chain' || f.kind === 'extra-nat-chain' || f.kind === 'nat-order';

function mentions(text: string, ip: string): boolean {
  return new RegExp(`(^|[^\\d.])${ip.replace(/\./g, '\\.')}(?![\\d])`).test(text);
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One phrase per finding (those of a kind with nothing to add are merged). */
function phrase(f: Finding): string {
  switch (f.kind) {
    case 'missing-namespace':
      return 'namespace built';
    case 'unwanted-namespace':
      return 'namespace removed';
    case 'missing-host-namespace':
      return `+host namespace ${f.object}`;
    case 'missing-bridge':
      return `+bridge ${f.object}`;
    case 'extra-bridge':
      return `-bridge ${f.object}`;
    case 'bridge-down':
      return `bridge ${f.object} set up`;
    case 'missing-device': {
      // expected: `gateway port ID ADDR/LEN on BRIDGE` (or the driver's reason for a re-plug).
      const m = /^(gateway|internal) port \S+ (\S+)/.exec(f.expected ?? '');
      if (!m) return `${f.object} re-plugged`;
      return `+${m[1] === 'gateway' ? 'gateway ' : ''}port ${f.object} ${m[2]}`;
    }
    case 'extra-device':
      return `-port ${f.object}`;
    case 'device-down':
      return `${f.object} set up`;
    case 'wrong-mac':
      return `${f.object} MAC set`;
    case 'wrong-bridge':
    case 'missing-port':
    case 'wrong-external-ids':
    case 'no-carrier':
      return `${f.object} re-plugged`;
    case 'missing-address': {
      const fip = fipOf(f);
      return fip ? `+fip ${fip}` : `+address ${f.object}`;
    }
    case 'wrong-scope':
    case 'wrong-broadcast': {
      const fip = fipOf(f);
      return fip ? `fip ${fip} re-added` : `address ${f.object} re-added`;
    }
    case 'extra-address': {
      const fip = fipOf(f);
      return fip ? `-fip ${fip}` : `-address ${f.object}`;
    }
    case 'missing-route':
      return f.live === null ? `+route ${f.object}` : `route ${f.object} replaced`;
    case 'extra-route':
      return `-route ${f.object}`;
    case 'ip_forward-off':
      return 'forwarding on';
    case 'shared-sysctl':
      return `${f.object} set`;
    case 'ipv6-on':
      return 'IPv6 off (HA)';
    case 'stale-ha-address': {
      // keepalived's address left on a node that is not the master.
      const fip = fipOf(f);
      return fip ? `-fip ${fip} (not the HA master)` : `-address ${f.object} (not the HA master)`;
    }
    case 'stale-ha-route':
      return `-route ${f.object} (not the HA master)`;
    case 'missing-daemon':
      return `+${daemonName(f.object)}`;
    case 'daemon-dead':
      return `${daemonName(f.object)} restarted`;
    case 'daemon-config':
      return `${daemonName(f.object)} reconfigured`;
    case 'extra-daemon':
      return `-${daemonName(f.object)}`;
  }
  // A kind this list does not know yet is still said, plainly.
  return `${f.kind} ${f.object}`;
}

/** The NAT findings not already said by a `+fip`/`-fip`: `NAT: +2 rules, -1 rule`. */
function natPhrase(nat: Finding[]): string | null {
  if (!nat.length) return null;
  const n = (k: Finding['kind']) => nat.filter((f) => f.kind === k).length;
  const parts = [
    ...(n('missing-nat-chain') ? [`+${count(n('missing-nat-chain'), 'chain')}`] : []),
    ...(n('missing-nat-rule') ? [`+${count(n('missing-nat-rule'), 'rule')}`] : []),
    ...(n('extra-nat-rule') ? [`-${count(n('extra-nat-rule'), 'rule')}`] : []),
    ...(n('extra-nat-chain') ? [`-${count(n('extra-nat-chain'), 'chain')}`] : []),
    ...(n('nat-order') ? ['reordered'] : []),
  ];
  return `NAT: ${parts.join(', ')}`;
}

/** The changes in words, in plan order, joined: `+fip 203.0.113.20, route 192.0.2.0/24 replaced`. */
export function describeChanges(findings: Finding[]): string {
  const fips = findings.map(fipOf).filter((x): x is string => x !== null);
  // A floating IP's own NAT rules go with it: `+fip X` says them.
  const nat = findings.filter((f) => isNat(f) && !fips.some((ip) => mentions(`${f.object} ${f.expected ?? ''} ${f.live ?? ''}`, ip)));
  const phrases: string[] = [];
  let natSaid = false;
  for (const f of findings) {
    if (isNat(f)) {
      // Said once, where the first NAT change is.
      if (!natSaid && nat.length) phrases.push(natPhrase(nat)!);
      natSaid ||= nat.length > 0;
      continue;
    }
    const p = phrase(f);
    if (!phrases.includes(p)) phrases.push(p);
  }
  if (phrases.length <= MAX_PHRASES) return phrases.join(', ');
  return `${phrases.slice(0, MAX_PHRASES).join(', ')} and ${phrases.length - MAX_PHRASES} more`;
}
