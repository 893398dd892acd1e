import type { Command } from 'commander';

// Filled in by its own change; registered here so main.ts needs no edit.
export function register(_program: Command): void {}
