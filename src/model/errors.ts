// Every failure the CLI reports carries its exit status (cli.md, "Exit status").

export const EXIT = {
  ok: 0,
  apply: 1,
  usage: 2,
  drift: 3,
  locked: 4,
  corrupt: 5,
  declined: 6,
  interrupted: 130,
} as const;

export class L3ctlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'L3ctlError';
  }
}

/** Bad argument, unknown name, conflict: nothing was changed. */
export class UsageError extends L3ctlError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.usage, hint);
  }
}

/** A system command failed while applying. */
export class ApplyError extends L3ctlError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.apply, hint);
  }
}

export class StoreError extends L3ctlError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.corrupt, hint);
  }
}

/** The errno code of a failed system call (`ENOENT`, …), or undefined for anything else thrown. */
export const errnoCode = (err: unknown): string | undefined => (typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException).code : undefined);
