// Section 1 — start-up: l3ctl --version, `router list` on a store of 500
// routers and one tab completion, each against bare `node -e 0` measured in
// the same interleaved runs (medians). No kernel, no root. A bare --version
// and tab completion start the small snapshot; `router list` on an empty
// store shows, for information, what any other command's start costs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interleaved, l3ctl, l3ctlArgv, median, NODE, storeEnv } from './lib/proc.js';
import { fmtMs, info, ratioGoal, ratioRow, type Section } from './lib/report.js';
import { listStore } from './lib/topology.js';
import { saveState } from '../src/store/store.js';
import { emptyState } from '../src/model/types.js';

export async function benchStartup(runs: number): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-bench-startup-'));
  try {
    const store = join(dir, 'state.json');
    // Written as l3ctl's own save writes it (with the digest of a store checked whole, which
    // spares reads a second check): the store an operator's commands leave behind.
    await saveState(store, listStore(500), { checked: true });
    const env = storeEnv(store);
    const empty = join(dir, 'empty.json');
    await saveState(empty, emptyState(), { checked: true });
    // The figures mean something only if the commands do their whole job.
    const listed = (await l3ctl(store, ['router', 'list', '-f', 'value', '-c', 'name'])).stdout.split('\n').filter(Boolean).length;
    const completed = (await l3ctl(store, ['__complete', 'router', 'show', ''])).stdout.split('\n').filter(Boolean).length;
    if (listed !== 500 || completed !== 500) throw new Error(`router list gave ${listed} and completion ${completed} routers, expected 500`);
    const cases = [
      { name: 'node -e 0', argv: [NODE, '-e', '0'], env },
      { name: 'l3ctl --version', argv: l3ctlArgv(['--version']), env },
      { name: 'l3ctl router list (500 routers)', argv: l3ctlArgv(['router', 'list']), env },
      { name: "l3ctl __complete router show '' (500 names)", argv: l3ctlArgv(['__complete', 'router', 'show', '']), env },
      { name: 'l3ctl router list (empty store)', argv: l3ctlArgv(['router', 'list']), env: storeEnv(empty) },
    ];
    const samples = await interleaved(cases, runs);
    const m = samples.map(median);
    const base = m[0]!;
    return {
      title: `1. Start-up (median of ${runs} interleaved runs each)`,
      rows: [
        info('node -e 0 (the floor)', fmtMs(base)),
        ratioRow('l3ctl --version / node', m[1]!, base, ratioGoal('<=', 1.3)),
        ratioRow('l3ctl router list, 500 routers / node', m[2]!, base, ratioGoal('<=', 1.5)),
        ratioRow("l3ctl __complete router show '' / node", m[3]!, base, ratioGoal('<=', 1.3)),
        ratioRow('l3ctl router list, empty store / node (a command\'s start)', m[4]!, base, null),
      ],
      notes: [],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
