// overlay-boot move NAME HOST: export | ssh HOST overlay-boot import, with
// the stream's sha256 checked on both sides; the subhost is removed here
// only once HOST has it. On any failure before that, nothing here has
// changed (a subhost that ran is started again).
import { execa } from 'execa';
import { parseArgs } from '../../lib/args.js';
import { UsageError, Failure, errorText, EXIT_NOPERM } from '../../lib/errors.js';
import { isRoot } from '../../lib/privilege.js';
import { readSubhostsConf } from '../../lib/registry.js';
import { connectSystemd, subhostUnit, activeState, RUNNING_STATES } from '../support/dbus.js';
import { sameFile } from '../support/conf.js';
import { startUnitOrExplain, stopUnitOrExplain } from '../support/subhost.js';
import { hasher } from '../support/transfer.js';
import { exportSource, exportTo } from './export.js';
import { run as remove } from './remove.js';

export const usage = `Usage: overlay-boot move [OPTION...] NAME|CONF [USER@]HOST

Moves subhost NAME to HOST: stops it if it runs (an export needs it
still), sends overlay-boot export's stream over ssh (BatchMode: keys or an
agent, ~/.ssh/config applies) into overlay-boot import --trust on HOST,
and compares the stream's sha256 as sent with the one HOST computed of
what it received (HOST checks it too before it writes anything). Only
then is the subhost removed here (overlay-boot remove --purge: unlisted,
config and UPPER deleted). If anything fails before, nothing here has
changed and a subhost that ran is started again.

  --base DIR   its directory on HOST (default: the same path as here)
  --name NEW   its NAME on HOST (default: the same)
  --now        start it on HOST (it is listed there when it is listed here)
Exit status: 0 moved, 1 failed (it says which side has the subhost), 2 bad
usage, 77 not root.
`;

const say = (s: string) => process.stdout.write(`${s}\n`);

/** One word for the remote shell (ssh joins its arguments into one command line). */
export const shellWord = (s: string) => (/^[A-Za-z0-9_./=@%+:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, { flags: ['--now'], options: ['--base', '--name'] });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (a.rest || a.positionals.length !== 2) throw new UsageError('move needs NAME and HOST');
  const [arg, host] = a.positionals as [string, string];
  if (host.startsWith('-') || /[\s\0]/.test(host)) throw new UsageError(`"${host}" is not a HOST`);
  for (const o of ['--base', '--name'])
    if (/[\n\r\0]/.test(a.options.get(o) ?? '')) throw new UsageError(`${o} must not hold a newline or NUL`);
  if (!isRoot()) throw new Failure(`moving subhost ${arg} needs root: run it with sudo`, EXIT_NOPERM);

  const sm = await connectSystemd();
  let wasRunning = false;
  let src: Awaited<ReturnType<typeof exportSource>>;
  try {
    src = await exportSource(sm, arg);
    const listed = readSubhostsConf().some((l) => sameFile(l.path, src.conf));
    const remote = [
      'overlay-boot',
      'import',
      '--checksum-trailer',
      '--trust',
      '--base',
      a.options.get('--base') ?? src.base,
      ...(a.options.has('--name') ? ['--name', a.options.get('--name')!] : []),
      ...(listed ? ['--enable'] : []),
      ...(a.flags.has('--now') ? ['--now'] : []),
      '-',
    ];
    wasRunning = RUNNING_STATES.includes(await activeState(sm, subhostUnit(src.name)));
    if (wasRunning) {
      await stopUnitOrExplain(sm, src.name);
      say(`stopped subhost ${src.name} (for a consistent copy)`);
    }
    const ssh = execa('ssh', ['-o', 'BatchMode=yes', host, remote.map(shellWord).join(' ')], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'inherit',
      reject: false,
    });
    const pass = hasher(true);
    const [sent, r] = await Promise.all([
      exportTo(src, ssh.stdin, pass, false).then(
        () => undefined,
        (e: unknown) => e,
      ),
      ssh,
    ]);
    const out = String(r.stdout);
    for (const l of out.split('\n').filter(Boolean)) say(`${host}: ${l}`);
    const theirs = /^received \d+ bytes, sha256 ([0-9a-f]{64})$/m.exec(out)?.[1];
    const imported = /^imported subhost /m.test(out);
    if (!imported) {
      const why =
        r.exitCode !== 0
          ? `ssh or import: ${r.exitCode === undefined ? r.message : `exit ${r.exitCode}`}, above`
          : sent
            ? errorText(sent)
            : 'it said nothing';
      throw new Failure(`${host} did not import ${src.name} (${why}); nothing was changed here`);
    }
    if (r.exitCode !== 0) {
      throw new Failure(
        `${host} imported ${src.name} but failed after that (exit ${r.exitCode}, above): both hosts have it now; it is kept here`,
      );
    }
    if (sent) throw new Failure(`sending ${src.name} failed after ${host} imported it: ${errorText(sent)}; it is kept here`);
    if (theirs !== pass.hex()) {
      throw new Failure(`${host} received sha256 ${theirs ?? '(none)'}, sent ${pass.hex()}: it is kept here; check ${host}`);
    }
    say(`${host} has subhost ${src.name}: sha256 ${pass.hex()} on both sides (${pass.bytes()} bytes)`);
  } catch (e) {
    if (wasRunning) {
      await startUnitOrExplain(sm, src!.name).then(
        () => process.stderr.write(`overlay-boot: started ${src!.name} here again\n`),
        (e2: unknown) => process.stderr.write(`overlay-boot: could not start ${src!.name} here again: ${errorText(e2)}\n`),
      );
    }
    throw e;
  } finally {
    sm.close();
  }
  // HOST has it, checked: it goes from here.
  return remove(['--purge', src.conf]);
}
