// One problem found in a subhost config (or in /etc/subhosts.conf).
// Every error the user sees is one line naming the file, the line (when
// the value came from a line) and the key, so it can be fixed without
// reading our code.

export interface Problem {
  file: string;
  line?: number;
  key?: string;
  message: string;
  /** The file is not trusted to run commands (see trust.ts). */
  trust?: boolean;
}

export function formatProblem(p: Problem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}` : p.file;
  return p.key ? `${where}: ${p.key}: ${p.message}` : `${where}: ${p.message}`;
}

/**
 * The first `max` problems of one file, formatted, then one line saying
 * how many more: a file of garbage gives a few lines, not one per line.
 */
export function capProblems(file: string, problems: Problem[], max = 5): string[] {
  const lines = problems.slice(0, max).map(formatProblem);
  const more = problems.length - max;
  if (more > 0) lines.push(`... and ${more} more problem${more > 1 ? 's' : ''} in ${file}`);
  return lines;
}

/**
 * What a command shows of a loaded config, capped as above: the problems
 * first (one line each), then the warnings (`warning: ...`).
 */
export function reportLines(file: string, problems: Problem[], warnings: Problem[], max = 5): string[] {
  const shown = capProblems(file, [...problems, ...warnings], max);
  return shown.map((line, i) => (i >= problems.length && i < max ? `warning: ${line}` : line));
}
