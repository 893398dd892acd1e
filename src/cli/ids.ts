import { randomBytes, randomUUID } from 'node:crypto';

/** Neutron's base MAC fa:16:3e with three random bytes. */
export function newMac(): string {
  return ['fa', '16', '3e', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export const newId = (): string => randomUUID();
