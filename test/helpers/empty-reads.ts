// Answers for runners that reply by argv (RecordingRunner and the like): what
// l3ctl reads in a kernel that holds nothing of its own.
import { OBSERVE_SCRIPT, SYSCTL_MARK } from '../../src/linux/observe.js';

/** observe.ts's one read of a namespace. */
export const isObserveRead = (argv: string[]) => argv.includes(OBSERVE_SCRIPT);

/** That read of a namespace with no links, routes, rules or sysctls to show. */
export const EMPTY_OBSERVATION = `[]\n[]\n${SYSCTL_MARK}\n`;

/** stdout of a read of an empty kernel: the empty observation, `[]` for another `ip -j` read, else nothing. */
export const emptyRead = (argv: string[]) => (isObserveRead(argv) ? EMPTY_OBSERVATION : argv.includes('-j') ? '[]' : '');
