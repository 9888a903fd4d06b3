// The one unit-file model (as Quadlet's unitfile): every line of unit
// text the project writes (the generator's drop-ins, the runtime drop-in
// of `overlay-boot start CONF`, the fence and settings of a config) is
// added here, section by section, and leaves through text(). Values are
// escaped in one place (unitValue) by how systemd reads the directive
// (systemd.syntax(7) "Quoting", systemd.unit(5) "Specifiers"); what
// cannot be written on one line is refused, never mangled.
//
// Sections come out in the order of their first use, with a blank line
// between two; comments given to the constructor come first.

/**
 * How a directive reads its value:
 * - `verbatim`: parsed by the directive itself, no specifiers (MemoryMax=50%,
 *   CPUQuota=, SystemCallFilter=...): written as given;
 * - `printf`: one value in which systemd expands specifiers (SourcePath=,
 *   After=): `%` doubled;
 * - `words`: a list of words (RequiresMountsFor=, Environment=), specifiers
 *   expanded: `%` doubled, a word with whitespace, a quote or a backslash
 *   double-quoted with `"` and `\` escaped (systemd unquotes and, where the
 *   directive also C-unescapes, `\\` and `\"` mean the same).
 */
export type Syntax = 'verbatim' | 'printf' | 'words';

/** A value that cannot be one line of a unit file. */
export class UnitValueError extends Error {}

const needsQuotes = /[\s"'\\]/;

/** The one escaping function: `value` as `key`'s text on its line. */
export function unitValue(key: string, value: string | string[], syntax: Syntax): string {
  const values = typeof value === 'string' ? [value] : value;
  for (const v of values) {
    // A line ends the value; a NUL ends the file's text for systemd's reader.
    if (/[\n\r\0]/.test(v))
      throw new UnitValueError(`${key}=: a value with a line break cannot be written to a unit file: ${JSON.stringify(v)}`);
  }
  if (syntax === 'words') {
    return values
      .map((w) => (needsQuotes.test(w) || w === '' ? `"${w.replace(/%/g, '%%').replace(/(["\\])/g, '\\$1')}"` : w.replace(/%/g, '%%')))
      .join(' ');
  }
  if (values.length !== 1) throw new UnitValueError(`${key}=: one value expected, got ${values.length}`);
  const v = values[0]!;
  // Unquoted, a trailing backslash joins the next line to this one, and
  // leading or trailing whitespace is dropped by systemd's reader.
  if (/\\$/.test(v)) throw new UnitValueError(`${key}=: a value ending in a backslash cannot be written unquoted: ${JSON.stringify(v)}`);
  if (v !== v.trim())
    throw new UnitValueError(`${key}=: a value with leading or trailing whitespace cannot be written unquoted: ${JSON.stringify(v)}`);
  return syntax === 'printf' ? v.replace(/%/g, '%%') : v;
}

/** A unit key: letters, digits, `-` and `_` (systemd's own set). */
function checkKey(key: string): void {
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(key)) throw new UnitValueError(`not a unit file key: ${JSON.stringify(key)}`);
}

function checkComment(text: string): string {
  if (/[\n\r\0]/.test(text)) throw new UnitValueError(`a comment with a line break: ${JSON.stringify(text)}`);
  return text === '' ? '#' : `# ${text}`;
}

export class UnitFile {
  private readonly top: string[];
  private readonly sections = new Map<string, string[]>();

  /** `header`: comment lines for the top of the file (without `# `). */
  constructor(header: string[] = []) {
    this.top = header.map(checkComment);
  }

  private lines(section: string): string[] {
    let l = this.sections.get(section);
    if (!l) {
      if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(section)) throw new UnitValueError(`not a unit file section: ${JSON.stringify(section)}`);
      l = [];
      this.sections.set(section, l);
    }
    return l;
  }

  /** KEY=VALUE in `section`, after what it has (a key may repeat: systemd appends, or an empty value resets). */
  add(section: string, key: string, value: string, syntax: Syntax = 'printf'): this {
    checkKey(key);
    this.lines(section).push(`${key}=${unitValue(key, value, syntax)}`);
    return this;
  }

  /** KEY=WORD WORD... in `section` (no words: `KEY=`, which resets a list). */
  addWords(section: string, key: string, words: string[]): this {
    checkKey(key);
    this.lines(section).push(`${key}=${unitValue(key, words, 'words')}`);
    return this;
  }

  /** A `# ` comment line in `section`, for a directive that is not obvious. */
  comment(section: string, text: string): this {
    this.lines(section).push(checkComment(text));
    return this;
  }

  /**
   * Directive lines made elsewhere as text (`Key=value` or `# comment`),
   * taken apart and added as `verbatim` values: the same checks as add().
   */
  addLines(section: string, lines: string[]): this {
    for (const line of lines) {
      if (line.startsWith('#')) this.comment(section, line.replace(/^#\s?/, ''));
      else {
        const eq = line.indexOf('=');
        if (eq < 1) throw new UnitValueError(`not a directive line: ${JSON.stringify(line)}`);
        this.add(section, line.slice(0, eq), line.slice(eq + 1), 'verbatim');
      }
    }
    return this;
  }

  /** True when no section has a line. */
  empty(): boolean {
    return [...this.sections.values()].every((l) => l.length === 0);
  }

  /** The file's text: the header, then each section (a blank line between two), newline-terminated. */
  text(): string {
    const parts = [...this.sections].filter(([, l]) => l.length).map(([name, l]) => [`[${name}]`, ...l].join('\n'));
    const body = parts.join('\n\n');
    return `${[...this.top, body].filter((x) => x !== '').join('\n')}\n`;
  }
}
