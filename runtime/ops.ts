// The setup steps of a subhost as data: each op is one fixed-arity
// command of the native helper subhost-enter (native/ops.c),
// which performs them with plain syscalls in the unit's private mount
// namespace. Computing them is pure (tested without root); performing
// them costs microseconds instead of one process per step.
export type Op =
  | ['mount', fstype: string, source: string, target: string, flags: string, data: string]
  | ['mkdir', path: string, mode: string]
  | ['mknod', path: string, mode: string, type: 'c' | 'b', major: string, minor: string, uid: string, gid: string]
  | ['symlink', target: string, path: string]
  | ['chmod', path: string, mode: string]
  | ['install-if-missing', src: string, dst: string, mode: string]
  | ['bind-file-ro', src: string, dst: string]
  | ['bind-if-exists', src: string, dst: string]
  | ['bind-ro-if-exists', src: string, dst: string]
  | ['bind-nofollow', src: string, dst: string]
  | ['check-containment', level: 'contained' | 'none']
  | ['write-if-missing', path: string, mode: string, content: string]
  | ['require-dir', path: string, message: string]
  | ['refuse-mountpoint', path: string, message: string]
  | ['check-env', name: string, value: string]
  | ['check-stat', path: string, sig: string]
  | ['guard', root: string]
  | ['undo-journal', file: string, upper: string]
  | ['link-up', ifname: string];

export function opsToArgv(ops: Op[]): string[] {
  return ops.flat();
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
