// The order l3ctl lists names in (chains in an iptables-restore payload,
// devices and prefixes in a radvd or keepalived file, stores in the
// registry): String#localeCompare's order for ASCII text, which earlier
// versions used, so files and payloads read as before. Not localeCompare
// itself: its first call loads ICU's collator, about 13 ms of a command's
// start here. As in ICU's root collation: punctuation and symbols, then
// digits, then letters without regard to case; on a tie lower case first.

const PUNCTUATION = ' _-,;:!?.\'"()[]{}@*/\\&#%`^+<=>|~$';

/** Where a character of lower-cased ASCII text sorts. */
function rank(c: number): number {
  const p = PUNCTUATION.indexOf(String.fromCharCode(c));
  if (p >= 0) return p;
  return PUNCTUATION.length + c; // digits before letters, as in ASCII
}

/** A comparator for sort(). */
export function byText(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = rank(x.charCodeAt(i)) - rank(y.charCodeAt(i));
    if (d !== 0) return d;
  }
  if (x.length !== y.length) return x.length - y.length;
  // The same but for case: lower case first (code points put upper case first).
  return a === b ? 0 : a < b ? 1 : -1;
}
