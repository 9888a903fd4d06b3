// overlay-boot-runtime: what the units run.
//   start NAME       ExecStart of subhost@NAME.service
//   netns-up NAME    ExecStart of subhost-netns@NAME.service
// Errors are one line each, to the journal, and a non-zero exit.
import { loadSubhost, RuntimeError } from './load.js';
import { start } from './start.js';
import { netnsUp } from './netns.js';
import { NameSchema } from '../lib/config/fields.js';

async function main(argv: string[]): Promise<void> {
  const [cmd, name] = argv;
  if (!name) throw new RuntimeError('usage: overlay-boot-runtime start|netns-up NAME');
  if (!NameSchema.safeParse(name).success) {
    throw new RuntimeError(`"${name}" is not a subhost NAME: use subhost@NAME with NAME exactly as in its config (no systemd-escape)`);
  }
  const rundir = process.env.RUNTIME_DIRECTORY;
  if (!rundir) throw new RuntimeError('RUNTIME_DIRECTORY is not set: run this from its systemd unit');
  switch (cmd) {
    case 'start':
      return start(await loadSubhost(name), `${rundir}/pid`);
    case 'netns-up': {
      const c = await loadSubhost(name, ['CABLES']);
      return netnsUp(name, c.CABLES ?? [], `${rundir}/state`);
    }
    default:
      throw new RuntimeError(`unknown command ${cmd}`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(e instanceof RuntimeError ? `${e.message}\n` : `internal error: ${(e as Error).stack}\n`);
    process.exit(1);
  },
);
