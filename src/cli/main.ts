// Entry point: commander wiring and the mapping of every failure to its exit status.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT, L3ctlError } from '../model/errors.js';
import { ask, enableAsking, holdMissing, takeMissing } from './ask.js';
import { register as registerNetwork } from './network.js';
import { register as registerRouter } from './router.js';
import { register as registerInterface } from './interface.js';
import { register as registerGateway } from './gateway.js';
import { register as registerFip } from './fip.js';
import { register as registerRoute } from './route.js';
import { register as registerConfig } from './config.js';
import { register as registerAgent } from './agent.js';
import { register as registerLab } from './lab.js';
import { register as registerDiagnose } from './diagnose.js';
import { register as registerCompletion } from './completion.js';
import { register as registerAliases } from './aliases.js';
import { register as registerDeclarative, refuseYamlFormat } from './declarative.js';

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function buildProgram(): Command {
  const program = new Command('l3ctl');
  program
    .description('Build Linux routers the way the Quantum/Neutron L3 agent does: namespaces, qr-/qg- ports, SNAT, floating IPs, extra routes.')
    .version(version(), '--version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('--store <path>', 'state file (env L3CTL_STORE; default /var/lib/l3ctl/state.json)')
    .addOption(new Option('-f, --format <format>', 'output format (yaml: the document of export)').choices(['table', 'json', 'value', 'yaml']).default('table'))
    .option('-c, --column <column>', 'only this column (repeatable, in this order)', collect)
    .option('--dry-run', 'print every system command that would run; change nothing')
    .option('-y, --yes', 'answer yes to every confirmation')
    .option('--no-input', 'never prompt')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option('-v, --verbose', 'echo each system command and its duration to stderr')
    .option('-q, --quiet', 'print nothing on success')
    .showSuggestionAfterError(true);
  program.hook('preAction', (_program, action) => refuseYamlFormat(program, action));
  registerNetwork(program);
  registerRouter(program);
  registerInterface(program);
  registerGateway(program);
  registerFip(program);
  registerRoute(program);
  registerConfig(program);
  registerAgent(program);
  registerDiagnose(program);
  registerLab(program);
  registerDeclarative(program);
  registerCompletion(program);
  registerAliases(program);
  // Every command, the program included, maps commander's own failures to
  // `l3ctl: error: …` (+ `hint:`) and exit 2 the same way (reportError).
  const walk = (c: Command) => {
    wireErrors(c);
    c.commands.forEach(walk);
  };
  walk(program);
  return program;
}

const commandPath = (c: Command): string => (c.parent ? `${commandPath(c.parent)} ${c.name()}` : c.name());

/**
 * Commander's messages reshaped to cli.md's one error line: its
 * "(Did you mean …?)" line becomes a hint, and argument errors get the usage
 * line as hint. A command with subcommands run bare (`l3ctl router`, `l3ctl`)
 * is a usage error too: an error line, its help on stderr, exit 2 (stdout
 * stays empty for scripts; `--help` prints help on stdout and exits 0).
 */
function wireErrors(c: Command): void {
  c.exitOverride();
  c.showSuggestionAfterError(true);
  c.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    outputError: (s, write) => {
      const [first, ...rest] = s.trim().split('\n');
      const msg = first!.replace(/^error: /, '');
      if (holdMissing(c, msg)) return; // asked for on the terminal instead (main)
      const suggestion = rest.join(' ').match(/^\(Did you mean (.*)\?\)$/);
      let hint: string | undefined;
      if (suggestion) hint = `did you mean ${suggestion[1]}?`;
      else if (/^unknown command/.test(msg)) hint = `${commandPath(c)} --help lists the commands`;
      else if (/^unknown option/.test(msg)) hint = `${commandPath(c)} --help lists the options`;
      else if (/argument/.test(msg) && !/^option/.test(msg)) hint = `usage: ${commandPath(c)} ${c.usage()}`;
      write(`l3ctl: error: ${msg}\n${hint ? `hint: ${hint}\n` : ''}`);
    },
  });
  if (c.commands.length) {
    c.on('beforeHelp', (h: { error: boolean; write: (s: string) => void }) => {
      if (!h.error) return;
      // `l3ctl help frob` lands here too, with the unknown name in args.
      h.write(c.parent === null && c.args[0] === 'help' && c.args[1] !== undefined
        ? `l3ctl: error: unknown command '${c.args[1]}'\n`
        : `l3ctl: error: '${commandPath(c)}' needs a command\n`);
    });
  }
}

export function reportError(err: unknown, verbose: boolean): number {
  if (err instanceof CommanderError) {
    // --help and --version; the message was printed by commander (wireErrors).
    if (['commander.helpDisplayed', 'commander.version'].includes(err.code)) return EXIT.ok;
    // `l3ctl help router` (help on stdout, exitCode 0) is fine; help written
    // because a bare noun was run (`l3ctl router`, exitCode 1) is a usage error.
    if (err.code === 'commander.help' && err.exitCode === 0) return EXIT.ok;
    return EXIT.usage;
  }
  if (err instanceof L3ctlError) {
    // One line: a message with a newline would read as two errors.
    process.stderr.write(`l3ctl: error: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
    for (const h of (err.hint ?? '').split('\n').filter(Boolean)) process.stderr.write(`hint: ${h}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`l3ctl: error: internal error: ${e?.message ?? String(err)}\n`);
  if (verbose && e?.stack) process.stderr.write(e.stack + '\n');
  return EXIT.apply;
}

export async function main(argv: string[]): Promise<void> {
  // `l3ctl … | head`: a reader that went away is not an error worth a stack
  // trace. Output is printed only after the store is saved, so nothing is lost.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  enableAsking(!!process.stdin.isTTY && !!process.stderr.isTTY && !argv.includes('--no-input'));
  let args = argv;
  for (let tries = 0; ; tries++) {
    try {
      await buildProgram().parseAsync(args);
      return;
    } catch (err) {
      const missing = takeMissing();
      if (missing) {
        const value = tries < 5 ? await ask(missing, args) : null;
        if (value !== null) {
          // Positional arguments may follow options: the value simply goes last.
          args = [...args, value];
          continue;
        }
        process.stderr.write(`l3ctl: error: missing required argument '${missing.name}'\n`);
      }
      process.exitCode = reportError(err, verbose);
      return;
    }
  }
}
