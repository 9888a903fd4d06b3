// Every value a command writes into a config, and every path it writes
// into /etc/subhosts.conf, is one line: a newline would make the rest of
// the value a line of its own (`--start $'none\nCONTAINMENT=none'` an
// uncontained subhost), a NUL ends it early for C. Refused before anything
// is written, with the value shown escaped, on one line.

const BREAKS = /[\n\r\0]/;

/** The value as JSON shows it: control characters escaped, one line. */
export const shown = (v: string): string => JSON.stringify(v);

/** Why VALUE cannot be written as (part of) one config line, or undefined. */
export function notOneLine(value: string): string | undefined {
  const m = BREAKS.exec(value);
  if (!m) return undefined;
  const what = m[0] === '\n' ? 'a newline' : m[0] === '\r' ? 'a carriage return' : 'a NUL';
  return `${shown(value)} has ${what}: a value must be one line`;
}

/**
 * Why PATH cannot be listed in /etc/subhosts.conf, or undefined: not one
 * line, or with blanks (1.6 splits a line into paths at blanks) or a `#`
 * (the rest of the line is a comment).
 */
export function notListable(path: string): string | undefined {
  const broken = notOneLine(path);
  if (broken) return broken;
  if (/\s/.test(path)) return `${shown(path)} has a blank: /etc/subhosts.conf separates paths with blanks`;
  if (path.includes('#')) return `${shown(path)} has a #: /etc/subhosts.conf ignores the rest of a line from #`;
  return undefined;
}
