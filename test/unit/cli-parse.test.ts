// The command line against the command table (src/cli/parse.ts), and the
// old-client aliases rewritten before it: pure, no store, no process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MissingArgument, ParseError, parse, type Parsed } from '../../src/cli/parse.js';
import { expandAlias, ALIASES } from '../../src/cli/aliases.js';
import { COMMANDS, LOG_FORMATS as TABLE_LOG_FORMATS } from '../../src/cli/commands.js';
import { LOG_FORMATS } from '../../src/agent/runloop.js';
import { LAB_STORE_PATH, ROUTER } from '../../src/lab/topology.js';
import { UsageError } from '../../src/model/errors.js';

type Run = Extract<Parsed, { action: 'run' }>;

function ok(args: string[]): Run {
  const p = parse(args);
  assert.equal(p.action, 'run', JSON.stringify(p));
  return p as Run;
}

/** The UsageError parse throws: exit 2, its message and hint. */
function fails(args: string[]): ParseError {
  try {
    parse(args);
  } catch (err) {
    assert.ok(err instanceof ParseError, String(err));
    assert.ok(err instanceof UsageError);
    assert.equal(err.exitCode, 2);
    return err;
  }
  assert.fail(`parse ${args.join(' ')} did not fail`);
}

describe('parse: commands, arguments, options', () => {
  it('noun, verb, arguments and options by camel-cased name', () => {
    const p = ok(['fip', 'associate', '203.0.113.20', '198.51.100.5', '--router', 'r1']);
    assert.deepEqual(p.path, ['fip', 'associate']);
    assert.equal(p.top.name, 'fip');
    assert.deepEqual(p.values, { fip: '203.0.113.20', fixedIp: '198.51.100.5', router: 'r1' });
    assert.equal(p.globals.format, 'table');
    assert.deepEqual(p.globals.column, []);
  });

  it('global options before or after the command, --opt=value, -c repeated, bundled short flags', () => {
    for (const args of [
      ['--store', '/s', '-f', 'json', '-c', 'id', '-c', 'name', '-yq', 'router', 'list'],
      ['router', 'list', '--store=/s', '--format=json', '-cid', '--column', 'name', '-y', '-q'],
      ['router', '-q', 'list', '-fjson', '--store', '/s', '-c', 'id', '-y', '-c', 'name'],
    ]) {
      const p = ok(args);
      assert.deepEqual(p.path, ['router', 'list'], args.join(' '));
      assert.deepEqual(
        { store: p.globals.store, format: p.globals.format, column: p.globals.column, yes: p.globals.yes, quiet: p.globals.quiet },
        { store: '/s', format: 'json', column: ['id', 'name'], yes: true, quiet: true },
        args.join(' '),
      );
    }
  });

  it('--no-input and --no-color turn input and colour off; --dry-run and -v', () => {
    const p = ok(['--no-input', 'router', 'list', '--no-color', '--dry-run', '-v']);
    assert.equal(p.globals.input, false);
    assert.equal(p.globals.color, false);
    assert.equal(p.globals.dryRun, true);
    assert.equal(p.globals.verbose, true);
    const d = ok(['router', 'list']).globals;
    assert.deepEqual([d.input, d.color, d.dryRun, d.verbose, d.yes, d.quiet], [true, true, false, false, false, false]);
  });

  it('after --, everything is an argument: router exec R -- CMD -c 1', () => {
    const p = ok(['router', 'exec', 'r1', '--', 'ping', '-c', '1', '--store', 'x']);
    assert.deepEqual(p.values, { router: 'r1', command: ['ping', '-c', '1', '--store', 'x'] });
    assert.equal(p.globals.store, undefined);
  });

  it('variadic and optional arguments', () => {
    assert.deepEqual(ok(['router', 'delete', 'r1', 'r2']).values, { router: ['r1', 'r2'] });
    assert.deepEqual(ok(['agent', 'sync']).values, { router: [] });
    assert.deepEqual(ok(['fip', 'add']).values, { ip: undefined });
    assert.deepEqual(ok(['route', 'list', 'r1']).values, { router: 'r1' });
  });

  it("a verb's own option by its name; a value may start with a dash", () => {
    assert.deepEqual(ok(['network', 'add', 'n1', '--cidr', '198.51.100.0/24', '--gateway-ip=none', '--external']).values, {
      name: 'n1',
      cidr: '198.51.100.0/24',
      gatewayIp: 'none',
      external: true,
    });
    assert.equal(ok(['config', 'set', 'router_id', '--', '-x']).values.value, '-x');
    assert.equal(ok(['agent', 'run', '--log-format', 'json']).values.logFormat, 'json');
  });

  it('--version anywhere; help as --help, -h or the help word, for the deepest command named', () => {
    assert.deepEqual(parse(['router', 'list', '--version']), { action: 'version' });
    for (const [args, path] of [
      [['--help'], []],
      [['help'], []],
      [['router', '-h'], ['router']],
      [['help', 'router'], ['router']],
      [['help', 'router', 'show'], ['router', 'show']],
      [['router', 'help', 'show'], ['router', 'show']],
      [['router', 'show', '--help'], ['router', 'show']],
      [['router', 'add', '--help'], ['router', 'add']], // a missing argument does not stop help
    ] as [string[], string[]][]) {
      const p = parse(args);
      assert.equal(p.action, 'help', args.join(' '));
      assert.deepEqual((p as { path: string[] }).path, path, args.join(' '));
    }
  });
});

describe('parse: usage errors (exit 2) with their hint', () => {
  const cases: [string[], string, string | undefined][] = [
    [['routr', 'list'], "unknown command 'routr'", 'did you mean one of route, router?'],
    [['router', 'ad'], "unknown command 'ad'", 'did you mean add?'],
    [['router', 'frob'], "unknown command 'frob'", 'l3ctl router --help lists the commands'],
    [['help', 'frob'], "unknown command 'frob'", 'l3ctl --help lists the commands'],
    [['router', 'list', '--formt', 'json'], "unknown option '--formt'", 'did you mean --format?'],
    [['--bogus', 'router', 'list'], "unknown option '--bogus'", 'l3ctl router list --help lists the options'],
    [['--bogus', 'nosuch'], "unknown option '--bogus'", 'l3ctl --help lists the options'],
    [['router', 'list', '-x'], "unknown option '-x'", 'l3ctl router list --help lists the options'],
    [['-f', 'xml', 'router', 'list'], "option '-f, --format <format>' argument 'xml' is invalid. Allowed choices are table, json, value, yaml, csv.", undefined],
    [['router', 'list', '-f'], "option '-f, --format <format>' argument missing", undefined],
    [['router', 'list', '--dry-run=yes'], "option '--dry-run' takes no value", undefined],
    [['network', 'add', 'n9'], "required option '--cidr <cidr>' not specified", undefined],
    [['router', 'add', 'r9', 'r10'], "too many arguments for 'add'. Expected 1 argument but got 2.", 'usage: l3ctl router add [options] <name>'],
    [['router', 'list', 'x'], "too many arguments for 'list'. Expected 0 arguments but got 1.", 'usage: l3ctl router list [options]'],
    [['completion', 'tcsh'], "command-argument value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.", 'usage: l3ctl completion [options] <shell>'],
    [['router'], "'l3ctl router' needs a command", undefined],
    [[], "'l3ctl' needs a command", undefined],
  ];
  for (const [args, message, hint] of cases) {
    it(`l3ctl ${args.join(' ')}`, () => {
      const e = fails(args);
      assert.equal(e.message, message);
      assert.equal(e.hint, hint);
    });
  }

  it('a bare noun names itself for the help that follows the error', () => {
    assert.deepEqual(fails(['fip']).helpFor, ['fip']);
    assert.deepEqual(fails([]).helpFor, []);
  });

  it('a missing argument says which, with the usage, and carries what a prompt needs', () => {
    const e = fails(['route', 'add', 'r1', '192.0.2.0/24', '--no-input']);
    assert.ok(e instanceof MissingArgument);
    assert.equal(e.message, "missing required argument 'nexthop'");
    assert.equal(e.hint, 'usage: l3ctl route add [options] <router> <destination> <nexthop>');
    assert.deepEqual(e.path, ['route', 'add']);
    assert.equal(e.arg.name, 'nexthop');
    assert.equal(e.globals.input, false);
  });
});

describe('old-client aliases: rewritten before parsing', () => {
  it('the alias word becomes its noun and verb, wherever the global options are', () => {
    assert.deepEqual(expandAlias(['router-create', 'r9', '-f', 'value']), {
      args: ['router', 'add', 'r9', '-f', 'value'],
      note: "l3ctl: 'router-create' is now 'router add': l3ctl router add r9 -f value",
    });
    assert.deepEqual(expandAlias(['--store', '/s', '-c', 'name', 'floatingip-associate', '203.0.113.20', '198.51.100.5'])?.args, [
      '--store', '/s', '-c', 'name', 'fip', 'associate', '203.0.113.20', '198.51.100.5',
    ]);
    assert.equal(expandAlias(['router', 'add', 'router-create']), null, 'only the command word');
    assert.equal(expandAlias(['--store', 'router-create', 'router', 'list']), null, "an option's value is not the command");
  });

  it('every alias names a verb of the table', () => {
    for (const [alias, [noun, verb]] of Object.entries(ALIASES)) {
      assert.ok(COMMANDS.find((c) => c.name === noun)?.commands.some((v) => v.name === verb), alias);
    }
  });
});

describe('the table agrees with the code it names', () => {
  it("agent run's log formats and the lab's store and router are those of src/agent and src/lab", () => {
    assert.deepEqual([...TABLE_LOG_FORMATS], [...LOG_FORMATS]);
    const lab = COMMANDS.find((c) => c.name === 'lab')!;
    const up = lab.commands.find((c) => c.name === 'up')!;
    assert.ok(up.summary.includes(LAB_STORE_PATH));
    assert.ok(up.examples.some((e) => e.includes(`--store ${LAB_STORE_PATH} router show ${ROUTER}`)));
  });

  it('every verb picks a function out of its noun module', async () => {
    for (const top of COMMANDS) {
      const m = await top.load!();
      for (const v of top.commands.length ? top.commands : [top]) {
        assert.equal(typeof v.run!(m), 'function', `${top.name} ${v.name}`);
      }
    }
  });
});
