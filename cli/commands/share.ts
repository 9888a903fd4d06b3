// overlay-share DIR NAME [PATH]: bind mount host directory DIR into
// running subhost NAME at PATH (default: DIR's own path), like
// `machinectl bind`. The mount is made by the native helper subhost-bind
// (native/subhost-bind.c): it clones DIR's tree on the host, enters the
// subhost's mount namespace and resolves PATH inside the subhost's root,
// so that a symlink in the subhost cannot send the mount elsewhere.
import { statSync } from 'node:fs';
import { resolve, isAbsolute } from 'node:path';
import { execa } from 'execa';
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure, errorText } from '../../lib/errors.js';
import { connectSystemd, listSubhostUnits } from '../support/dbus.js';
import { nameFromArg, runningPid } from '../support/subhost.js';
import { libDir } from '../../lib/paths.js';
import { isRoot, runAsRoot } from '../../lib/privilege.js';

export const usage = `Usage: overlay-share [--ro] [--no-mkdir] DIR NAME [PATH]

Bind mounts host directory DIR (with the mounts below it) into running
subhost NAME at PATH, an absolute path inside the subhost (default: the
absolute path of DIR, as 1.6 did). PATH is created if missing (as 1.6's
mkdir -p) unless --no-mkdir; it is resolved inside the subhost's root:
symlinks there never lead out of it. The mount lasts until the subhost
stops (or is unmounted inside it).
  --ro         read-only inside the subhost
  --no-mkdir   fail if PATH does not exist inside
Exit status: 0 mounted, 1 failure, 2 bad usage, 77 not allowed (see overlay-share(8)).
`;

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { flags: ['--ro', '--no-mkdir'] });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest) throw new UsageError('no command is taken (no --)');
  const [dir, nameArg, inside, ...extra] = a.positionals;
  if (extra.length) throw new UsageError('too many arguments');
  if (dir === undefined) throw new UsageError('missing DIR and NAME');
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new Failure(`${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : errorText(e)}`);
  }
  if (!isDir) throw new Failure(`not a directory: ${dir}`);
  const src = resolve(dir);
  const dst = inside ?? src;
  if (!isAbsolute(dst)) throw new UsageError(`PATH must be an absolute path inside the subhost: ${dst}`);
  // The bind needs root (subhost-bind): again through pkexec, or one line saying how.
  if (!isRoot()) {
    const flags = [...a.flags].filter((f) => f === '--ro' || f === '--no-mkdir');
    return runAsRoot('org.overlay-boot.share', 'sharing a directory into a subhost', 'overlay-share', [
      ...flags,
      src,
      ...a.positionals.slice(1),
    ]);
  }
  const sm = await connectSystemd();
  let pid: number;
  try {
    if (nameArg === undefined) {
      const running = (await listSubhostUnits(sm, ['active'])).map((u) => u.name);
      throw new UsageError(`missing NAME (running subhosts: ${running.join(' ') || 'none'})`);
    }
    pid = await runningPid(sm, nameFromArg(nameArg));
  } finally {
    sm.close();
  }
  const helper = `${libDir()}/subhost-bind`;
  const r = await execa(
    helper,
    [String(pid), src, dst, ...(a.flags.has('--no-mkdir') ? [] : ['--mkdir']), ...(a.flags.has('--ro') ? ['--ro'] : [])],
    {
      reject: false,
      stdin: 'ignore',
    },
  );
  if (r.failed && r.exitCode === undefined) throw new Failure(`cannot run ${helper}: ${r.shortMessage ?? r.message}`);
  if (r.exitCode !== 0) {
    const msg = String(r.stderr)
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^subhost-bind: /, ''))
      .join('\n');
    throw new Failure(msg || `${helper} failed (exit status ${r.exitCode})`);
  }
  return 0;
}
