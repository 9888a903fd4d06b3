// The setup steps of a subhost as data: each op is one fixed-arity
// command of the native helper subhost-enter (native/ops.c),
// which performs them with plain syscalls in the unit's private mount
// namespace. Computing them is pure (tested without root); performing
// them costs microseconds instead of one process per step.
//
// OPS is the one definition on this side: each op's arguments by name, in
// order (its arity is their number); an argument that takes only some
// words lists them after its name. The `Op` type is derived from it.
export const OPS = {
  mount: ['fstype', 'source', 'target', 'flags', 'data'],
  mkdir: ['path', 'mode'],
  mknod: ['path', 'mode', ['type', 'c', 'b'], 'major', 'minor', 'uid', 'gid'],
  symlink: ['target', 'path'],
  chmod: ['path', 'mode'],
  'install-if-missing': ['src', 'dst', 'mode'],
  'bind-file-ro': ['src', 'dst'],
  'bind-socket-ro': ['src', 'dst'],
  'bind-if-exists': ['src', 'dst'],
  'bind-ro-if-exists': ['src', 'dst'],
  'bind-nofollow': ['src', 'dst'],
  'check-containment': [['level', 'private-users', 'contained', 'none']],
  // CONTAINMENT=private-users (native/userns.c): find the subhost's user
  // namespace and id range; LIVE's trees seen through its id map.
  'private-users': ['name'],
  'overlay-idmapped': ['lower', 'upper', 'work', 'live'],
  'bind-idmapped': ['src', 'dst', ['rec', 'rec', '-']],
  'write-if-missing': ['path', 'mode', 'content'],
  'require-dir': ['path', 'message'],
  'refuse-mountpoint': ['path', 'message'],
  'check-env': ['name', 'value'],
  'check-stat': ['path', 'sig'],
  guard: ['root'],
  'undo-journal': ['file', 'upper'],
  'link-up': ['ifname'],
  lock: ['owner', 'role', 'dir'],
  'refuse-foreign-mounts': [],
  // The console pty and /dev/log socket, and the relay that carries them
  // to the journal (native/console.c); "-" for a part not wanted.
  relay: ['program', 'name', 'pts', 'console', 'devlog', 'hostlog'],
} as const;

export type OpName = keyof typeof OPS;

/** An argument's type: any string, or one of the words its table entry lists. */
type ArgType<A> = A extends readonly [string, ...infer Words extends string[]] ? Words[number] : string;
type Args<T extends readonly unknown[]> = { -readonly [K in keyof T]: ArgType<T[K]> };

/** One op: its name, then exactly its arguments. */
export type Op = { [N in OpName]: [N, ...Args<(typeof OPS)[N]>] }[OpName];

/** How many arguments op `name` takes (undefined: no such op). */
export function arity(name: string): number | undefined {
  return Object.hasOwn(OPS, name) ? OPS[name as OpName].length : undefined;
}

/** The names of op `name`'s arguments, in order. */
export function argNames(name: OpName): string[] {
  return OPS[name].map((a) => (typeof a === 'string' ? a : a[0]));
}

export function opsToArgv(ops: Op[]): string[] {
  // A loop, not ops.flat(): flat() is slow in V8, and the generator turns
  // ~60 ops into words for each of up to 1000 configs.
  const words: string[] = [];
  for (const op of ops) for (const w of op) words.push(w);
  return words;
}

/**
 * The ops at the start of a helper argv, read back by their arity, up to
 * the first word that is not an op (`enter`, or the end). The inverse of
 * opsToArgv; a word that is not an op is left to the caller.
 */
export function argvToOps(argv: string[]): { ops: Op[]; rest: string[] } {
  const ops: Op[] = [];
  let i = 0;
  for (let n = arity(argv[i] ?? ''); n !== undefined && i + n < argv.length; n = arity(argv[i] ?? '')) {
    ops.push(argv.slice(i, i + 1 + n) as Op);
    i += 1 + n;
  }
  return { ops, rest: argv.slice(i) };
}

/** mkdir for every component of `inside` below `root` (mkdir -p, one level per op). */
export function mkdirP(root: string, inside: string, mode = '755'): Op[] {
  const ops: Op[] = [];
  let p = root;
  for (const part of inside.split('/').filter(Boolean)) {
    p = `${p}/${part}`;
    ops.push(['mkdir', p, mode]);
  }
  return ops;
}
