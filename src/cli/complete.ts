// Tab completion fast path (filled in by its own change).
export function main(_words: string[]): void {}
