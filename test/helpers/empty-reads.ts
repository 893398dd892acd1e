// Answers for runners that reply by argv (RecordingRunner and the like): what
// l3ctl reads in a kernel that holds nothing of its own.
import { EMPTY_OBSERVATION, OBSERVE_SCRIPT } from '../../src/linux/observe.js';

export { EMPTY_OBSERVATION };

/** observe.ts's one read of a namespace. */
export const isObserveRead = (argv: string[]) => argv.includes(OBSERVE_SCRIPT);

/** stdout of a read of an empty kernel: the empty observation, `[]` for another `ip -j` read, else nothing. */
export const emptyRead = (argv: string[]) => (isObserveRead(argv) ? EMPTY_OBSERVATION : argv.includes('-j') ? '[]' : '');
