// The site document: what `export` prints and `apply`/`diff` read. The
// store's objects and field names, with references by name instead of id
// (`network: priv`, `router: r1`) so that a person can read and write it,
// and the ids and MACs kept (kernel names derive from them: the same
// document builds the same namespaces and devices on another node).
//
//   apiVersion: l3ctl/v1        what kind of file this is, as kubectl's
//   kind: Site
//   storeVersion: 3             the store schema the objects follow (1 and 2 are migrated)
//   config: {KEY: VALUE}        per-node keys (ConfigKey.perNode) left out
//   networks: [...]  routers: [...]  floatingips: [...]
//
// Reading it is four stages, each reporting every problem it finds with its
// path (and line), the next one run only when the one before found none:
// syntax, header (+ migration of an older storeVersion), shape, values.
// References and the whole-state rules need the store: declarative.ts.
//
// Loaded only by export/diff/apply. The yaml package only for YAML text, or
// to place a problem of a JSON document on its line: a JSON document (what
// `export -f json` and scripts write) is read by JSON.parse, several times
// faster than a YAML parser, and yaml's own load is not paid either.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import * as v from 'valibot';
import { CONFIG_KEYS, isPerNodeKey } from '../model/config.js';
import { UsageError } from '../model/errors.js';
import { IPV6_MODES, STATE_VERSION, type Ipv6Mode, type Port, type State } from '../model/types.js';
import { checkCidr, checkIp, checkIpv4, checkMac, checkName, checkUuid, shown, subnetProblem } from '../model/validate.js';
import { ipVersion, parseCidr } from '../model/addr.js';
import { legacySubnetId } from '../store/migrate.js';

export const API_VERSION = 'l3ctl/v1';
export const KIND = 'Site';

/** A port's address; the subnet is the one of its network that holds it. */
export interface DocFixedIp {
  ip_address: string;
  /** Optional (Neutron's shape): the subnet's id, which must be the one holding the address. */
  subnet_id?: string;
}

export interface DocPort {
  id?: string;
  network: string;
  /**
   * Exactly the port's addresses. Absent: one on each subnet of the
   * network, its gateway IP (an interface) or the first free address (a
   * gateway; kept from the stored port on the same network).
   */
  fixed_ips?: DocFixedIp[] | null;
  /** Absent: the stored port's, else a new fa:16:3e:… one. */
  mac_address?: string;
  admin_state_up?: boolean;
}

export interface DocRoute {
  destination: string;
  nexthop: string;
}

export interface DocRouter {
  id?: string;
  name: string;
  admin_state_up?: boolean;
  /** An HA router, with the VRRP id every node must give it (allocated when left out). */
  ha?: boolean;
  ha_vr_id?: number | null;
  gateway?: DocPort | null;
  interfaces?: DocPort[] | null;
  routes?: DocRoute[] | null;
}

export interface DocSubnet {
  id?: string;
  cidr: string;
  /** Absent: the first host of the subnet (as `subnet add`); null: none. */
  gateway_ip?: string | null;
  /** Optional: the CIDR says it (given, it must agree). */
  ip_version?: number;
  ipv6_ra_mode?: Ipv6Mode | null;
  ipv6_address_mode?: Ipv6Mode | null;
}

export interface DocNetwork {
  id?: string;
  name: string;
  /** At most one IPv4 and one IPv6 subnet. */
  subnets?: DocSubnet[] | null;
  external?: boolean;
  bridge?: string | null;
}

export interface DocFloatingIp {
  id?: string;
  floating_ip_address: string;
  /** Absent: the one external network whose subnet holds the address. */
  network?: string;
  fixed_ip_address?: string | null;
  /** Absent with a fixed IP: the one router with a subnet holding it. */
  router?: string | null;
}

export interface SiteDocument {
  apiVersion: string;
  kind: string;
  storeVersion: number;
  config?: Record<string, string> | null;
  networks?: DocNetwork[] | null;
  routers?: DocRouter[] | null;
  floatingips?: DocFloatingIp[] | null;
}

export type DocFormat = 'yaml' | 'json';

/** Where in a document: `['routers', 3, 'gateway', 'ip_address']`. */
export type DocPath = (string | number)[];

export interface DocProblem {
  path: DocPath;
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
  /** The problem is about an object of the store the file does not have (`router 'r5', kept from the store`); path is then within it. */
  kept?: string;
}

/** `routers[3].gateway.ip_address`. */
export function formatDocPath(path: DocPath): string {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) out += (out ? '.' : '') + k;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out || 'top level';
}

/** One line per problem: `site.yaml:14: routers[3].gateway.ip_address: …`. */
export function problemLine(source: string, p: DocProblem): string {
  if (p.kept) return `${source}: (${p.kept})${p.path.length ? ` ${formatDocPath(p.path)}` : ''}: ${p.message}`;
  return `${source}${p.line ? `:${p.line}` : ''}: ${formatDocPath(p.path)}: ${p.message}`;
}

/** A document that cannot be applied (exit 2); every problem, in file order. */
export class InvalidDocument extends UsageError {
  constructor(
    readonly source: string,
    readonly problems: DocProblem[],
  ) {
    super(
      problemLine(source, problems[0]!),
      problems.length > 1 ? `${problems.length} problems in ${source}; nothing was changed` : 'nothing was changed',
    );
  }

  /** Every problem as its own line, for stderr. */
  lines(): string[] {
    return this.problems.map((p) => problemLine(this.source, p));
  }
}

// ---------------------------------------------------------------- writing

/** The store as a document. Pure; lists keep the store's order. */
export function toDocument(state: State): SiteDocument {
  const netName = new Map(state.networks.map((n) => [n.id, n.name]));
  const routerName = new Map(state.routers.map((r) => [r.id, r.name]));
  const port = (p: Port): DocPort => ({
    id: p.id,
    network: netName.get(p.network_id) ?? p.network_id,
    fixed_ips: p.fixed_ips.map((f) => ({ ip_address: f.ip_address })),
    mac_address: p.mac_address,
    ...(p.admin_state_up ? {} : { admin_state_up: false }),
  });
  const config: Record<string, string> = {};
  for (const [k, val] of Object.entries(state.config)) if (!isPerNodeKey(k)) config[k] = val;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    storeVersion: state.version,
    config,
    networks: state.networks.map((n) => ({
      name: n.name,
      id: n.id,
      subnets: n.subnets.map((sn) => ({
        cidr: sn.cidr,
        id: sn.id,
        ip_version: sn.ip_version,
        gateway_ip: sn.gateway_ip,
        ...(sn.ipv6_ra_mode === null ? {} : { ipv6_ra_mode: sn.ipv6_ra_mode }),
        ...(sn.ipv6_address_mode === null ? {} : { ipv6_address_mode: sn.ipv6_address_mode }),
      })),
      external: n.external,
      ...(n.bridge === null ? {} : { bridge: n.bridge }),
    })),
    routers: state.routers.map((r) => ({
      name: r.name,
      id: r.id,
      admin_state_up: r.admin_state_up,
      // The VRRP id goes with the router: every node must give it the same one.
      ...(r.ha ? { ha: true, ha_vr_id: r.ha_vr_id } : {}),
      gateway: r.gateway ? port(r.gateway) : null,
      interfaces: r.interfaces.map(port),
      routes: r.routes.map((x) => ({ destination: x.destination, nexthop: x.nexthop })),
    })),
    floatingips: state.floatingips.map((f) => ({
      floating_ip_address: f.floating_ip_address,
      id: f.id,
      network: netName.get(f.floating_network_id) ?? f.floating_network_id,
      fixed_ip_address: f.fixed_ip_address,
      router: f.router_id === null ? null : routerName.get(f.router_id) ?? f.router_id,
    })),
  };
}

/**
 * The document as text. YAML is written for YAML 1.1 readers too (Ansible's
 * PyYAML): a string such as the MAC 52:54:00:12:34:56, a number in base 60
 * there, is quoted. JSON: two-space indent.
 */
export function renderDocument(doc: SiteDocument, format: DocFormat): string {
  if (format === 'json') return JSON.stringify(doc, null, 2) + '\n';
  return yaml().stringify(doc, { version: '1.1', lineWidth: 0 });
}

/** The yaml package, loaded on first use (its CommonJS build: synchronous). */
let yamlModule: typeof Yaml | null = null;
const yaml = (): typeof Yaml => (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml);

/** yaml or json from a file name's extension; null when it says neither. */
export function formatOfPath(file: string): DocFormat | null {
  if (/\.json$/i.test(file)) return 'json';
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  return null;
}

// ---------------------------------------------------------------- migration

/**
 * How a document of store version N becomes one of version N+1, for every N
 * from OLDEST_STORE_VERSION up (the documents' counterpart of the store's
 * src/store/migrate.ts). When types.ts's STATE_VERSION goes up, the step
 * from the old version goes here (and the old version stays readable). Steps
 * run on unchecked data: they move what they know, the shape check names
 * the rest.
 */
export type Migration = (doc: Record<string, unknown>) => Record<string, unknown>;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const mapList = (x: unknown, f: (o: Obj) => Obj) => (Array.isArray(x) ? x.map((o) => (isObj(o) ? f(o) : o)) : x);

/**
 * 2 → 3: a network's `cidr` and `gateway_ip` become its one subnet (with
 * the id the store's migration gives it, when the network has an id, so the
 * document and a migrated store agree); a port's `ip_address` its one fixed IP.
 */
function subnetsAndFixedIps(doc: Obj): Obj {
  const network = (n: Obj): Obj => {
    if (!('cidr' in n || 'gateway_ip' in n)) return n;
    const { cidr, gateway_ip, ...rest } = n;
    const subnet = { ...(typeof n.id === 'string' ? { id: legacySubnetId(n.id.toLowerCase()) } : {}), ...('cidr' in n ? { cidr } : {}), ...('gateway_ip' in n ? { gateway_ip } : {}) };
    return { ...rest, subnets: [subnet] };
  };
  const port = (p: Obj): Obj => {
    if (!('ip_address' in p)) return p;
    const { ip_address, ...rest } = p;
    return { ...rest, fixed_ips: [{ ip_address }] };
  };
  const router = (r: Obj): Obj => ({ ...r, ...(isObj(r.gateway) ? { gateway: port(r.gateway) } : {}), ...('interfaces' in r ? { interfaces: mapList(r.interfaces, port) } : {}) });
  return { ...doc, ...('networks' in doc ? { networks: mapList(doc.networks, network) } : {}), ...('routers' in doc ? { routers: mapList(doc.routers, router) } : {}) };
}

export const DOCUMENT_MIGRATIONS: Record<number, Migration> = {
  // Store version 2 added HA routers; a version-1 document has none (its routers read as legacy).
  1: (doc) => doc,
  2: subnetsAndFixedIps,
};
export const OLDEST_STORE_VERSION = 1;

export interface MigrationTable {
  current: number;
  oldest: number;
  steps: Record<number, Migration>;
}

const TABLE: MigrationTable = { current: STATE_VERSION, oldest: OLDEST_STORE_VERSION, steps: DOCUMENT_MIGRATIONS };

/**
 * The document in the current store version, or a problem saying why it
 * cannot be: written by a newer l3ctl, or older than any this one reads.
 */
export function migrateDocument(raw: Record<string, unknown>, table: MigrationTable = TABLE): { doc: Record<string, unknown> } | { problem: DocProblem } {
  const version = raw.storeVersion;
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    return { problem: { path: ['storeVersion'], message: version === undefined ? `missing field: expected the store version the document follows (${table.current})` : `expected an integer store version, got ${shownValue(version)}` } };
  }
  if (version > table.current) {
    return { problem: { path: ['storeVersion'], message: `${version} is newer than this l3ctl knows (store version ${table.current}): the document was written by a newer l3ctl; upgrade l3ctl on this node, or export from a node with the same version` } };
  }
  if (version < table.oldest) {
    return { problem: { path: ['storeVersion'], message: `${version} is older than any store version this l3ctl reads (${table.oldest} to ${table.current})` } };
  }
  let doc = raw;
  for (let n = version; n < table.current; n++) {
    const step = table.steps[n];
    if (!step) return { problem: { path: ['storeVersion'], message: `no migration from store version ${n} to ${n + 1}` } };
    doc = { ...step(doc), storeVersion: n + 1 };
  }
  return { doc };
}

// ---------------------------------------------------------------- reading

const str = v.string();
const bool = v.boolean();
const listOf = <S extends v.GenericSchema>(item: S) => v.optional(v.nullable(v.array(item)));

const PortDocSchema = v.strictObject({
  id: v.optional(str),
  network: str,
  fixed_ips: listOf(v.strictObject({ ip_address: str, subnet_id: v.optional(str) })),
  mac_address: v.optional(str),
  admin_state_up: v.optional(bool),
});

const ipv6ModeDoc = v.optional(v.nullable(v.picklist(IPV6_MODES)));

const DocumentSchema = v.strictObject({
  apiVersion: str,
  kind: str,
  storeVersion: v.number(),
  config: v.optional(v.nullable(v.record(str, v.union([str, v.number(), bool])))),
  networks: listOf(
    v.strictObject({
      id: v.optional(str),
      name: str,
      subnets: listOf(
        v.strictObject({
          id: v.optional(str),
          cidr: str,
          gateway_ip: v.optional(v.nullable(str)),
          ip_version: v.optional(v.number()),
          ipv6_ra_mode: ipv6ModeDoc,
          ipv6_address_mode: ipv6ModeDoc,
        }),
      ),
      external: v.optional(bool),
      bridge: v.optional(v.nullable(str)),
    }),
  ),
  routers: listOf(
    v.strictObject({
      id: v.optional(str),
      name: str,
      admin_state_up: v.optional(bool),
      ha: v.optional(bool),
      ha_vr_id: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(254)))),
      gateway: v.optional(v.nullable(PortDocSchema)),
      interfaces: listOf(PortDocSchema),
      routes: listOf(v.strictObject({ destination: str, nexthop: str })),
    }),
  ),
  floatingips: listOf(
    v.strictObject({
      id: v.optional(str),
      floating_ip_address: str,
      network: v.optional(str),
      fixed_ip_address: v.optional(v.nullable(str)),
      router: v.optional(v.nullable(str)),
    }),
  ),
});

const shownValue = (x: unknown) => (typeof x === 'string' ? `'${shown(x)}'` : JSON.stringify(x) ?? String(x));

function shapeProblem(issue: v.BaseIssue<unknown>): DocProblem {
  const path: DocPath = (issue.path ?? []).map((i) => i.key as string | number);
  if (issue.type === 'strict_object' && path.length > 0) {
    if (issue.expected === 'never') return { path, message: 'unknown field' };
    if (issue.received === 'undefined') return { path, message: 'missing field' };
  }
  // YAML reads `name: 1` as a number: say how to keep it a string.
  const quote = issue.expected === 'string' && /^(number|boolean)$/.test(typeof issue.input) ? ` (quote it: '${String(issue.input)}')` : '';
  return { path, message: `expected ${issue.expected ?? 'another type'}, got ${issue.received}${quote}` };
}

/** A document read from text: valid in itself; how to find a path's line. */
export interface ReadDocument {
  source: string;
  doc: SiteDocument;
  /** Things the document says that apply ignores (per-node config keys). */
  warnings: string[];
  /** The 1-based line of a path in the file, when it can be told. */
  lineOf(path: DocPath): number | undefined;
}

/**
 * The data of a document and where each path is in the text. JSON (the
 * text starts with `{`) by JSON.parse, a key given twice refused as yaml
 * refuses it (duplicateJsonKey); anything else, and JSON that
 * JSON.parse refuses (for the YAML parser's message with its line), by yaml.
 */
function parseText(text: string, fail: (ps: DocProblem[]) => never): { raw: unknown; lineOf: (path: DocPath) => number | undefined } {
  let parsed: Yaml.Document.Parsed | null = null;
  let counter: Yaml.LineCounter | null = null;
  const parseYaml = () => {
    const y = yaml();
    counter = new y.LineCounter();
    const docs = y.parseAllDocuments(text, { lineCounter: counter, uniqueKeys: true });
    // An EmptyStream (not an array) for blank input.
    return Array.isArray(docs) ? docs : [];
  };
  const lineOf = (path: DocPath): number | undefined => {
    if (!parsed) {
      const [first] = parseYaml();
      if (!first) return undefined;
      parsed = first;
    }
    const node = parsed.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? counter!.linePos(node.range[0]).line : undefined;
  };
  if (/^\s*\{/.test(text)) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      // Not JSON after all (YAML flow style), or broken: yaml says where.
    }
    if (raw !== undefined) {
      // JSON.parse keeps the last of a key given twice; YAML (uniqueKeys) refuses it, and so does this.
      const dup = duplicateJsonKey(text);
      if (dup !== null) fail([{ path: [], message: DUPLICATE_KEY, line: lineAt(text, dup) }]);
      return { raw, lineOf };
    }
  }
  const list = parseYaml();
  if (list.length === 0) fail([{ path: [], message: 'the document is empty: expected apiVersion, kind, storeVersion and the objects (l3ctl export prints one)' }]);
  if (list.length > 1) fail([{ path: [], message: `${list.length} YAML documents: expected one`, line: counter!.linePos(list[1]!.range[0]).line }]);
  parsed = list[0]!;
  const syntax = [...parsed.errors].map((e) => ({ path: [] as DocPath, message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''), line: e.linePos?.[0].line }));
  if (syntax.length) fail(syntax);
  return { raw: parsed.toJS({ maxAliasCount: 100 }) as unknown, lineOf };
}

/** What yaml says of a key given twice in one mapping: the same words for JSON. */
const DUPLICATE_KEY = 'Map keys must be unique';

/** A JSON string (its escapes skipped whole, so a `\"` does not end it), and whether a `:` follows (a key); or a brace. */
const JSON_TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[{}]/g;

/**
 * Where the first key given a second time in one object begins (the
 * offset of its quote), in text that JSON.parse accepted; null when none.
 * One regular-expression pass: numbers, literals, commas and brackets are
 * skipped by the engine, strings that are values are stepped over.
 */
export function duplicateJsonKey(text: string): number | null {
  const open: Set<string>[] = [];
  let keys: Set<string> | undefined;
  JSON_TOKEN.lastIndex = 0;
  for (let m = JSON_TOKEN.exec(text); m; m = JSON_TOKEN.exec(text)) {
    const tok = m[0];
    if (tok === '{') {
      if (keys) open.push(keys);
      keys = new Set();
    } else if (tok === '}') keys = open.pop();
    else if (m[1] !== undefined && keys) {
      const quoted = tok.slice(0, tok.length - m[1].length);
      // "a" and "\u0061" are one key.
      const key = quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
      if (keys.has(key)) return m.index;
      keys.add(key);
    }
  }
  return null;
}

/** The 1-based line of an offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * Parse and check a document: syntax, header and migration, shape, values
 * (names, CIDRs, addresses, MACs, UUIDs, config values, duplicates). Values
 * come back in canonical form (lower-case MACs and ids). Throws
 * InvalidDocument with every problem of the first stage that has any.
 */
export function readDocument(text: string, source: string): ReadDocument {
  const fail = (problems: DocProblem[]): never => {
    throw new InvalidDocument(source, problems);
  };
  const { raw, lineOf } = parseText(text, fail);
  const located = (ps: DocProblem[]) => sortProblems(ps.map((p) => ({ ...p, line: p.line ?? lineOf(p.path) ?? lineOf(p.path.slice(0, -1)) })));
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    fail([{ path: [], message: `expected a mapping with apiVersion, kind and storeVersion, got ${Array.isArray(raw) ? 'a list' : shownValue(raw)}` }]);
  }
  const top = raw as Record<string, unknown>;

  // Header: what the file is. Nothing else is read from a file that is not ours.
  const header: DocProblem[] = [];
  if (top.apiVersion !== API_VERSION) header.push({ path: ['apiVersion'], message: top.apiVersion === undefined ? `missing field: expected ${API_VERSION}` : `${shownValue(top.apiVersion)} is not a version this l3ctl reads: expected ${API_VERSION}` });
  if (top.kind !== KIND) header.push({ path: ['kind'], message: top.kind === undefined ? `missing field: expected ${KIND}` : `${shownValue(top.kind)}: expected ${KIND}` });
  const migrated = migrateDocument(top);
  if ('problem' in migrated) header.push(migrated.problem);
  if (header.length) fail(located(header));
  const doc0 = (migrated as { doc: Record<string, unknown> }).doc;

  const shape = v.safeParse(DocumentSchema, doc0, { abortPipeEarly: true });
  if (!shape.success) fail(located(shape.issues.map(shapeProblem)));
  const doc = structuredClone(shape.output as SiteDocument);
  const { problems, warnings } = checkValues(doc);
  if (problems.length) fail(located(problems));
  return { source, doc, warnings, lineOf };
}

/**
 * Values one by one, as the single commands check their arguments, then
 * what must be unique within the file. Canonicalises in place.
 */
function checkValues(doc: SiteDocument): { problems: DocProblem[]; warnings: string[] } {
  const problems: DocProblem[] = [];
  const warnings: string[] = [];
  /** The canonical value, or undefined after noting the problem at `path`. */
  const check = <T>(path: DocPath, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problems.push({ path, message: err.message });
      return undefined;
    }
  };
  const ids = new Map<string, string>();
  const uniqueId = (path: DocPath, id: string | undefined, set: (x: string) => void) => {
    if (id === undefined) return;
    const canon = check([...path, 'id'], () => checkUuid('id', id));
    if (canon === undefined) return;
    set(canon);
    const prev = ids.get(canon);
    if (prev) problems.push({ path: [...path, 'id'], message: `id ${canon} is also the id of ${prev}: expected a new UUID` });
    else ids.set(canon, formatDocPath(path));
  };
  const uniqueName = (seen: Map<string, string>, path: DocPath, name: string) => {
    const prev = seen.get(name);
    if (prev) problems.push({ path: [...path, 'name'], message: `'${shown(name)}' is also the name of ${prev}: expected a new name` });
    else seen.set(name, formatDocPath(path));
  };

  const config = doc.config ?? {};
  for (const [key, value] of Object.entries(config)) {
    const k = CONFIG_KEYS.find((c) => c.name === key);
    if (!k) {
      problems.push({ path: ['config', key], message: `unknown config key '${shown(key)}'` });
      continue;
    }
    if (k.perNode) {
      warnings.push(`config.${key}: belongs to one node: apply keeps this node's value`);
      delete config[key];
      continue;
    }
    const canon = check(['config', key], () => k.check(String(value)));
    if (canon !== undefined) config[key] = canon;
  }
  doc.config = config;

  const netNames = new Map<string, string>();
  doc.networks = doc.networks ?? [];
  doc.networks.forEach((n, i) => {
    const at: DocPath = ['networks', i];
    uniqueId(at, n.id, (x) => (n.id = x));
    if (check([...at, 'name'], () => checkName('network', n.name)) !== undefined) uniqueName(netNames, at, n.name);
    n.subnets = n.subnets ?? [];
    const cidrs = new Map<string, number>();
    n.subnets.forEach((sn, j) => {
      const sat: DocPath = [...at, 'subnets', j];
      uniqueId(sat, sn.id, (x) => (sn.id = x));
      const cidr = check([...sat, 'cidr'], () => checkCidr('CIDR', sn.cidr));
      if (cidr === undefined) return;
      if (parseCidr(sn.cidr)!.addr !== cidr.split('/')[0]) return void problems.push({ path: [...sat, 'cidr'], message: `${sn.cidr} has host bits set: expected ${cidr}` });
      sn.cidr = cidr;
      const version = parseCidr(cidr)!.version;
      const prev = cidrs.get(cidr);
      if (prev !== undefined) return void problems.push({ path: [...sat, 'cidr'], message: `subnet ${cidr} is already subnets[${prev}]: expected each subnet once` });
      cidrs.set(cidr, j);
      if (sn.ip_version !== undefined && sn.ip_version !== version) return void problems.push({ path: [...sat, 'ip_version'], message: `${sn.ip_version} does not match ${cidr}, an IPv${version} CIDR: expected ${version} (or no ip_version)` });
      if (typeof sn.gateway_ip === 'string') {
        const gw = check([...sat, 'gateway_ip'], () => checkIp('gateway IP', sn.gateway_ip!));
        if (gw !== undefined && ipVersion(gw) !== version) problems.push({ path: [...sat, 'gateway_ip'], message: `gateway IP ${gw} is IPv${ipVersion(gw)}, the subnet ${cidr} IPv${version}: expected an address of the subnet` });
        else if (gw !== undefined) sn.gateway_ip = gw;
      }
      const bad = subnetProblem({ cidr, ip_version: version, ipv6_ra_mode: sn.ipv6_ra_mode ?? null, ipv6_address_mode: sn.ipv6_address_mode ?? null });
      if (bad) problems.push({ path: [...sat, bad.field], message: bad.message });
    });
    if (typeof n.bridge === 'string' && !/^[A-Za-z0-9_.-]{1,15}$/.test(n.bridge)) {
      problems.push({ path: [...at, 'bridge'], message: `invalid bridge name '${shown(n.bridge)}': expected 1-15 characters of A-Z a-z 0-9 _ . -` });
    }
  });

  const routerNames = new Map<string, string>();
  doc.routers = doc.routers ?? [];
  doc.routers.forEach((r, i) => {
    const at: DocPath = ['routers', i];
    uniqueId(at, r.id, (x) => (r.id = x));
    if (check([...at, 'name'], () => checkName('router', r.name)) !== undefined) uniqueName(routerNames, at, r.name);
    const port = (pat: DocPath, p: DocPort, what: string) => {
      uniqueId(pat, p.id, (x) => (p.id = x));
      (p.fixed_ips ?? []).forEach((f, k) => {
        const fat: DocPath = [...pat, 'fixed_ips', k];
        const ip = check([...fat, 'ip_address'], () => checkIp(`${what} IP`, f.ip_address));
        if (ip !== undefined) f.ip_address = ip;
        if (f.subnet_id !== undefined) {
          const id = check([...fat, 'subnet_id'], () => checkUuid('subnet id', f.subnet_id!));
          if (id !== undefined) f.subnet_id = id;
        }
      });
      if (p.mac_address !== undefined) {
        const mac = check([...pat, 'mac_address'], () => checkMac(p.mac_address!));
        if (mac !== undefined) p.mac_address = mac;
      }
    };
    if (r.gateway) port([...at, 'gateway'], r.gateway, 'gateway');
    r.interfaces = r.interfaces ?? [];
    const onNet = new Map<string, number>();
    r.interfaces.forEach((p, j) => {
      port([...at, 'interfaces', j], p, 'interface');
      const prev = onNet.get(p.network);
      if (prev !== undefined) problems.push({ path: [...at, 'interfaces', j, 'network'], message: `router '${shown(r.name)}' has a port on '${shown(p.network)}' already (interfaces[${prev}]): expected one port per network` });
      else onNet.set(p.network, j);
    });
    r.routes = r.routes ?? [];
    const dsts = new Map<string, number>();
    r.routes.forEach((rt, k) => {
      const rat: DocPath = [...at, 'routes', k];
      const dst = check([...rat, 'destination'], () => checkCidr('destination', rt.destination));
      const nh = check([...rat, 'nexthop'], () => checkIp('nexthop', rt.nexthop));
      if (dst !== undefined) rt.destination = dst;
      if (nh !== undefined) rt.nexthop = nh;
      if (dst === undefined) return;
      const prev = dsts.get(dst);
      if (prev !== undefined) problems.push({ path: [...rat, 'destination'], message: `a route to ${dst} is already routes[${prev}]: expected one route per destination` });
      else dsts.set(dst, k);
    });
  });

  const fipAddrs = new Map<string, number>();
  doc.floatingips = doc.floatingips ?? [];
  doc.floatingips.forEach((f, i) => {
    const at: DocPath = ['floatingips', i];
    uniqueId(at, f.id, (x) => (f.id = x));
    const addr = check([...at, 'floating_ip_address'], () => checkIpv4('floating IP', f.floating_ip_address));
    if (addr !== undefined) {
      f.floating_ip_address = addr;
      const prev = fipAddrs.get(addr);
      if (prev !== undefined) problems.push({ path: [...at, 'floating_ip_address'], message: `floating IP ${addr} is already floatingips[${prev}]: expected each address once` });
      else fipAddrs.set(addr, i);
    }
    if (typeof f.fixed_ip_address === 'string') {
      const fixed = check([...at, 'fixed_ip_address'], () => checkIpv4('fixed IP', f.fixed_ip_address!));
      if (fixed !== undefined) f.fixed_ip_address = fixed;
    } else if (typeof f.router === 'string') {
      problems.push({ path: [...at, 'router'], message: `a router without a fixed_ip_address: expected the fixed IP the floating IP maps to, or no router` });
    }
  });
  return { problems, warnings };
}

/** File order, by line (the checks run in an order of their own); stable otherwise. */
export function sortProblems(ps: DocProblem[]): DocProblem[] {
  const line = (p: DocProblem) => p.line ?? Number.MAX_SAFE_INTEGER;
  return ps.map((p, i) => ({ p, i })).sort((a, b) => line(a.p) - line(b.p) || a.i - b.i).map((x) => x.p);
}
