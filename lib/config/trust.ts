// A config that can make us run commands as root on the host (`!cmd`
// values, PREMOUNT, POSTMOUNT, INIT) must be as trusted as the command
// itself: owned by root and not writable by group or others, and so must
// the directory holding it (else the file can be swapped). This is the
// rule sudo and sshd's StrictModes apply.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';

export function untrustedReason(file: string): string | undefined {
  for (const [what, path] of [['file', file], ['directory', dirname(file)]] as const) {
    let st;
    try {
      st = statSync(path);
    } catch (e) {
      return `cannot stat ${what} ${path}: ${(e as Error).message}`;
    }
    if (st.uid !== 0) return `the ${what} ${path} is owned by uid ${st.uid}, not root`;
    if (st.mode & 0o022) {
      const sticky = what === 'directory' && st.mode & 0o1000;
      if (!sticky) {
        return `the ${what} ${path} is writable by ${st.mode & 0o020 ? 'group' : 'others'} (mode ${(st.mode & 0o7777).toString(8)})`;
      }
    }
  }
  return undefined;
}
