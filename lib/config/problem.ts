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
