// openstackclient habits: a command line written the `openstack` way (router
// create, router set --external-gateway, floating ip set …) that l3ctl cannot
// parse gets a hint with the l3ctl command that does it. Loaded only after
// such a usage error, so it costs nothing otherwise.
import { GLOBAL_OPTIONS } from './commands.js';

/** openstackclient's options that take a value (the others are flags). */
const OSC_VALUED = ['--external-gateway', '--route', '--floating-ip-address', '--fixed-ip-address', '--port', '--subnet', '--network', '--name', '--description', '--project'];

interface Line {
  words: string[];
  opts: Map<string, string | true>;
}

/** The words and options of a command line, global options left out. */
function read(args: string[]): Line {
  const valued = new Set([...GLOBAL_OPTIONS.filter((o) => o.value).flatMap((o) => o.flags), ...OSC_VALUED]);
  const global = new Set(GLOBAL_OPTIONS.flatMap((o) => o.flags));
  const words: string[] = [];
  const opts = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (w === '--') {
      words.push(...args.slice(i + 1));
      break;
    }
    if (!w.startsWith('-') || w === '-') {
      words.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    const name = eq > 0 ? w.slice(0, eq) : w;
    const value = eq > 0 ? w.slice(eq + 1) : valued.has(name) ? args[++i] ?? '' : true;
    if (!global.has(name)) opts.set(name, value);
  }
  return { words, opts };
}

/** `destination=192.0.2.0/24,gateway=198.51.100.254` */
function route(v: string | true | undefined): { dst: string; via: string } | null {
  if (typeof v !== 'string') return null;
  const kv = Object.fromEntries(v.split(',').map((p) => p.split('=') as [string, string]));
  return kv.destination ? { dst: kv.destination, via: kv.gateway ?? 'NEXTHOP' } : null;
}

const cmd = (...w: string[]) => `\`l3ctl ${w.filter(Boolean).join(' ')}\``;
const oneOf = (xs: string[]) => (xs.length === 1 ? `did you mean ${xs[0]}?` : `did you mean ${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}?`);

function routerHabit(verb: string, rest: string[], opts: Line['opts']): string[] | null {
  const r = rest[0] ?? 'ROUTER';
  const gw = opts.get('--external-gateway');
  const rt = route(opts.get('--route'));
  switch (verb) {
    case 'create':
      return [cmd('router', 'add', r)];
    case 'set': {
      const out: string[] = [];
      if (typeof gw === 'string') out.push(cmd('gateway', 'set', r, gw));
      if (opts.has('--disable')) out.push(cmd('router', 'disable', r));
      if (opts.has('--enable')) out.push(cmd('router', 'enable', r));
      if (rt) out.push(cmd('route', 'add', r, rt.dst, rt.via));
      return out.length ? out : [cmd('router', 'enable|disable', r), cmd('gateway', 'set', r, 'NETWORK'), cmd('route', 'add', r, 'DESTINATION', 'NEXTHOP'), cmd('router', 'set', r, '--ha|--no-ha')];
    }
    case 'unset': {
      const out: string[] = [];
      if (opts.has('--external-gateway')) out.push(cmd('gateway', 'clear', r));
      if (rt) out.push(cmd('route', 'delete', r, rt.dst));
      return out.length ? out : [cmd('gateway', 'clear', r), cmd('route', 'delete', r, 'DESTINATION')];
    }
    case 'add':
    case 'remove': {
      // `router add subnet R SUBNET`, `router remove port R PORT`, `router add route R --route …`.
      const [what, rr = 'ROUTER', x = 'NETWORK'] = rest;
      if (what === 'subnet' || what === 'port') return [cmd('interface', verb === 'add' ? 'add' : 'remove', rr, x)];
      if (what === 'route') return [rt ? cmd('route', verb === 'add' ? 'add' : 'delete', rr, rt.dst, ...(verb === 'add' ? [rt.via] : [])) : cmd('route', verb === 'add' ? 'add' : 'delete', rr, 'DESTINATION', ...(verb === 'add' ? ['NEXTHOP'] : []))];
      return null;
    }
  }
  return null;
}

function fipHabit(verb: string, rest: string[], opts: Line['opts']): string[] | null {
  const fip = rest[0] ?? 'FIP';
  const addr = opts.get('--floating-ip-address');
  const fixed = opts.get('--fixed-ip-address');
  switch (verb) {
    case 'create': {
      // `floating ip create NETWORK`; `fip create 203.0.113.30` means the address.
      const ip = typeof addr === 'string' ? addr : rest[0] && /^[0-9a-f.:]+$/i.test(rest[0]) && /[.:]/.test(rest[0]) ? rest[0] : '';
      const net = rest[0] && rest[0] !== ip ? ['--network', rest[0]] : [];
      return [cmd('fip', 'add', ip, ...net)];
    }
    case 'list':
    case 'show':
      return [cmd('fip', 'list')];
    case 'delete':
      return [cmd('fip', 'delete', fip)];
    case 'set':
      return [cmd('fip', 'associate', fip, typeof fixed === 'string' ? fixed : 'FIXED_IP')];
    case 'unset': {
      // `floating ip unset --port FIP`: there --port is a flag, so the word after it is the FIP.
      const port = opts.get('--port');
      return [cmd('fip', 'disassociate', rest[0] ?? (typeof port === 'string' && port ? port : 'FIP'))];
    }
  }
  return null;
}

/** A hint with the l3ctl way of an openstackclient command line, or undefined. */
export function habitHint(args: string[]): string | undefined {
  const { words, opts } = read(args);
  const [noun, verb = '', ...rest] = words;
  let found: string[] | null = null;
  if (noun === 'router') found = routerHabit(verb, rest, opts);
  else if (noun === 'floating' && verb === 'ip') found = fipHabit(rest[0] ?? 'list', rest.slice(1), opts);
  else if (noun === 'fip' && verb === 'create') found = fipHabit('create', rest, opts);
  // The older `subnet delete NETWORK SUBNET`: the subnet alone names it.
  else if (noun === 'subnet' && verb === 'delete' && rest.length === 2) found = [cmd('subnet', 'delete', rest[1]!)];
  else if (noun === 'network' && verb === 'create') found = [cmd('network', 'add', rest[0] ?? 'NAME', '--cidr', 'CIDR')];
  return found ? oneOf(found) : undefined;
}
