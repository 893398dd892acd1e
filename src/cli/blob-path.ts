// The start-up snapshot a process was started from (`node --snapshot-blob
// PATH`): where its code lies on disk. Both snapshots (snapshot.ts and
// complete-snapshot.ts) find package.json and their other files from it.
export function blobPath(): string {
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--snapshot-blob') return args[i + 1]!;
    if (a.startsWith('--snapshot-blob=')) return a.slice('--snapshot-blob='.length);
  }
  throw new Error('l3ctl: a start-up snapshot was run without --snapshot-blob');
}
