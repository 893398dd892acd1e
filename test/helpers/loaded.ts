// `node --import dist/test/helpers/loaded.js bin/l3ctl …` with
// L3CTL_TEST_LOADED=FILE: the files the command loads (ES modules, and
// CommonJS packages reached through them) are listed in FILE.
import { register } from 'node:module';

const out = process.env.L3CTL_TEST_LOADED;
if (out) register('./loaded-hooks.js', import.meta.url, { data: { out } });
