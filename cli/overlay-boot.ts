// overlay-boot: start subhosts (1.6: `overlay-boot CONF`), and the
// overlay-boot 2 subcommands. Each subcommand lives in cli/commands/.
import { check, UsageError } from './commands/check.js';

const USAGE = `Usage:
  overlay-boot check [--json] CONF...   show the resolved config, or its errors
  overlay-boot --help
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  switch (cmd) {
    case 'check':
      return check(rest);
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`overlay-boot: ${e.message}\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`overlay-boot: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
