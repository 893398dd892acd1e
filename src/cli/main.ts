// Entry point: commander wiring and the mapping of every failure to its exit status.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT, L3ctlError } from '../model/errors.js';
import { register as registerNetwork } from './network.js';
import { register as registerRouter } from './router.js';
import { register as registerInterface } from './interface.js';
import { register as registerGateway } from './gateway.js';
import { register as registerFip } from './fip.js';
import { register as registerRoute } from './route.js';
import { register as registerConfig } from './config.js';
import { register as registerAgent } from './agent.js';
import { register as registerLab } from './lab.js';
import { register as registerCompletion } from './completion.js';
import { register as registerAliases } from './aliases.js';

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
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json', 'value']).default('table'))
    .option('-c, --column <column>', 'only this column (repeatable, in this order)', collect)
    .option('--dry-run', 'print every system command that would run; change nothing')
    .option('-y, --yes', 'answer yes to every confirmation')
    .option('--no-input', 'never prompt')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option('-v, --verbose', 'echo each system command and its duration to stderr')
    .option('-q, --quiet', 'print nothing on success')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(`l3ctl: ${s.replace(/^error: /, 'error: ')}`),
    })
    .exitOverride();
  registerNetwork(program);
  registerRouter(program);
  registerInterface(program);
  registerGateway(program);
  registerFip(program);
  registerRoute(program);
  registerConfig(program);
  registerAgent(program);
  registerLab(program);
  registerCompletion(program);
  registerAliases(program);
  // Every subcommand maps commander's own failures to exit 2 the same way.
  const walk = (c: Command) => {
    c.exitOverride();
    c.configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(`l3ctl: ${s}`) });
    c.showSuggestionAfterError(true);
    c.commands.forEach(walk);
  };
  program.commands.forEach(walk);
  return program;
}

export function reportError(err: unknown, verbose: boolean): number {
  if (err instanceof CommanderError) {
    if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code)) return EXIT.ok;
    // A bare noun (`l3ctl router`) prints its help and exits 2.
    return EXIT.usage;
  }
  if (err instanceof L3ctlError) {
    process.stderr.write(`l3ctl: error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`l3ctl: error: internal error: ${e?.message ?? String(err)}\n`);
  if (verbose && e?.stack) process.stderr.write(e.stack + '\n');
  return EXIT.apply;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err, verbose);
  }
}
