// The lab's fixed names, in a module that loads nothing: an error hint of
// any command (an unknown 'lab-r1') may name them.
export const LAB_STORE_PATH = '/var/lib/l3ctl/lab.json';
/** The lab's router. */
export const ROUTER = 'lab-r1';

/** The lab's default store. L3CTL_LAB_DEFAULT_STORE (hidden, tests only, as L3CTL_LAB_PREFIX) moves it. */
export const labDefaultStore = (env: NodeJS.ProcessEnv = process.env) => env.L3CTL_LAB_DEFAULT_STORE || LAB_STORE_PATH;
