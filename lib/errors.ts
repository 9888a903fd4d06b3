// The two ways a storage command fails: a usage error (exit 2, with the
// synopsis) or an operational error (exit 1). Both are one line on stderr,
// prefixed with the command name.
export class UsageError extends Error {}
export class StorageError extends Error {}

/** Run a command's main and exit the way every overlay-boot command does. */
export function runCommand(name: string, usage: string, main: (argv: string[]) => Promise<number>): void {
  // The tools they run (mount, sfdisk, blkid, getfattr) live in sbin.
  process.env.PATH ||= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof UsageError) {
        process.stderr.write(`${name}: ${e.message}\n${usage}`);
        process.exit(2);
      }
      const msg = e instanceof StorageError ? e.message : `internal error: ${(e as Error)?.stack ?? String(e)}`;
      process.stderr.write(`${name}: ${msg.replace(/\n+/g, ' ').trim()}\n`);
      process.exit(1);
    },
  );
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${n} ${n === 1 ? 'byte' : 'bytes'}`;
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
