// Shape of the store file (src/model/types.ts), checked on every load and save.
// Only types and structure are checked here; the meaning of the values
// (addresses inside subnets, unique names, …) is src/model's job.
// Imported lazily by store.ts so that tab completion never pays for valibot.
import * as v from 'valibot';
import { IPV6_MODES, STATE_VERSION, type State } from '../model/types.js';

const str = v.string();
// A union (not v.nullable) so that the message says "expected (string | null)".
const nullableStr = v.union([v.string(), v.null()]);

// valibot's object and record schemas accept arrays; the store never has one
// where an object belongs.
const isPlainObject = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
const plain = <S extends v.GenericSchema>(schema: S) =>
  v.pipe(v.custom<unknown>(isPlainObject, 'expected Object'), schema);

const FixedIpSchema = plain(v.strictObject({
  subnet_id: str,
  ip_address: str,
}));

const PortSchema = plain(v.strictObject({
  id: str,
  network_id: str,
  fixed_ips: v.array(FixedIpSchema),
  mac_address: str,
  admin_state_up: v.boolean(),
}));

// A union of literals, so that the message lists them: ("slaac" | … | null).
const ipv6Mode = v.union([...IPV6_MODES.map((m) => v.literal(m)), v.null()]);

const SubnetSchema = plain(v.strictObject({
  id: str,
  cidr: str,
  gateway_ip: nullableStr,
  ip_version: v.union([v.literal(4), v.literal(6)]),
  ipv6_ra_mode: ipv6Mode,
  ipv6_address_mode: ipv6Mode,
}));

const NetworkSchema = plain(v.strictObject({
  id: str,
  name: str,
  subnets: v.array(SubnetSchema),
  external: v.boolean(),
  bridge: nullableStr,
}));

const RouteSchema = plain(v.strictObject({
  destination: str,
  nexthop: str,
}));

const RouterSchema = plain(v.strictObject({
  id: str,
  name: str,
  admin_state_up: v.boolean(),
  gateway: v.nullable(PortSchema),
  interfaces: v.array(PortSchema),
  routes: v.array(RouteSchema),
  ha: v.boolean(),
  // A union (not v.nullable) so that the message says "expected (number | null)".
  ha_vr_id: v.union([v.pipe(v.number(), v.integer('expected an integer')), v.null()]),
}));

const FloatingIpSchema = plain(v.strictObject({
  id: str,
  floating_ip_address: str,
  floating_network_id: str,
  fixed_ip_address: nullableStr,
  router_id: nullableStr,
}));

export const StateSchema = plain(v.strictObject({
  // Older versions are migrated before this check (migrate.ts).
  version: v.pipe(
    v.number(),
    v.integer('expected an integer'),
    v.minValue(1, 'expected a version of at least 1'),
    v.maxValue(STATE_VERSION, `expected a version of at most ${STATE_VERSION}`),
  ),
  config: plain(v.record(v.string(), v.string())),
  networks: v.array(NetworkSchema),
  routers: v.array(RouterSchema),
  floatingips: v.array(FloatingIpSchema),
}));

// Compile-time guard: a field added to State but not here (or the reverse)
// fails the build instead of producing stores that later load as "corrupt".
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const schemaMatchesState: Same<v.InferOutput<typeof StateSchema>, State> = true;
void schemaMatchesState;

/** `routers[0].gateway.ip_address` from valibot's issue path. */
function formatPath(path: v.BaseIssue<unknown>['path']): string {
  if (!path || path.length === 0) return 'top level';
  let out = '';
  for (const item of path) {
    const key = item.key;
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += (out ? '.' : '') + key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function describeIssue(issue: v.BaseIssue<unknown>): string {
  const where = formatPath(issue.path);
  if (issue.type === 'strict_object' && issue.path && issue.path.length > 0) {
    // Strict-object issues about a key: either an unknown one or a missing one.
    if (issue.expected === 'never') return `${where}: unknown field`;
    if (issue.received === 'undefined') return `${where}: missing field`;
  }
  if (issue.type === 'custom') return `${where}: ${issue.message}, got ${issue.received}`;
  if (issue.kind === 'schema') return `${where}: expected ${issue.expected ?? 'another type'}, got ${issue.received}`;
  // Validation issues (integer, min/max) carry our own messages.
  return `${where}: ${issue.message}, got ${issue.received}`;
}

/**
 * Returns `data` typed as State, or throws an Error naming the first wrong
 * field (`routers[0].name: expected string, got 5`).
 */
export function validateState(data: unknown): State {
  // Checked before the shape: a newer l3ctl may have added fields, and
  // "unknown field" would hide the real cause.
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const version = (data as { version?: unknown }).version;
    if (typeof version === 'number' && Number.isInteger(version) && version > STATE_VERSION) {
      throw new Error(
        `version ${version}: written by a newer l3ctl (this one knows store version ${STATE_VERSION})`,
      );
    }
  }
  // abortPipeEarly: one message per field (1.5 is not also "above the maximum").
  const result = v.safeParse(StateSchema, data, { abortPipeEarly: true });
  if (result.success) return result.output;
  const [first, ...rest] = result.issues;
  const more = rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  throw new Error(describeIssue(first) + more);
}
