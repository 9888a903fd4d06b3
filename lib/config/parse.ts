// Turn the text of a 1.6 subhost .conf into assignments, exactly as 1.6's
// shell functions understood it:
//  - `VAR=value` lines, whitespace allowed around `=` and around the value
//    (1.6 read values with `read V`, which trims blanks: `START= none`);
//  - `#` starts a comment line; blank lines are ignored;
//  - the value is taken literally: no quote removal, no expansion
//    (1.6 stored it with eval "VAR='value'");
//  - a value starting with `!` is a command whose output becomes the value;
//    it is recorded here and only ever run by the runtime.
// Lines that are not assignments were ignored by 1.6; we keep that (so old
// configs keep working) but report them as warnings.

export interface Assignment {
  key: string;
  /** The value as written, trimmed; for a command, without the leading `!`. */
  value: string;
  /** True when the value was `!command`. */
  command: boolean;
  line: number;
  /** The line as written, for `overlay-boot check`. */
  text: string;
}

export interface ParsedText {
  assignments: Assignment[];
  /** Line numbers of lines that are neither assignments, comments nor blank. */
  strayLines: number[];
}

const ASSIGNMENT = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

export function parseConfText(text: string): ParsedText {
  const assignments: Assignment[] = [];
  const strayLines: number[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*(#|$)/.test(line)) return;
    const m = ASSIGNMENT.exec(line);
    if (!m) {
      strayLines.push(i + 1);
      return;
    }
    const key = m[1]!;
    const rawValue = m[2]!;
    const command = rawValue.startsWith('!');
    const value = command ? rawValue.slice(1).trim() : rawValue;
    assignments.push({ key, value, command, line: i + 1, text: line.trim() });
  });
  return { assignments, strayLines };
}
