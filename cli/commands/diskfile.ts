// overlay-diskfile MOUNT/PATH [IMAGE [PARTITION]]: a config value helper
// (`LOWER=!overlay-diskfile mnt/ disk.img 2`) that mounts a disk image, or
// one partition of it, for the subhost being started. See lib/storage/diskfile.ts.
import { diskfile, diskfileArgs } from '../../lib/storage/diskfile.js';
import { parseArgs, operands } from '../../lib/args.js';

export const usage = `Usage: overlay-diskfile MOUNT/PATH [IMAGE [PARTITION]]
  As a subhost config value, run when the subhost starts:
    LOWER=!overlay-diskfile mnt/ disk.img 2
    UPPER=!overlay-diskfile mnt/some/upper disk.img 2   (with WORK=mnt/some/work)
  Mounts IMAGE (or its partition number PARTITION, found with sfdisk --json)
  on the part of MOUNT/PATH before its last "/" (mnt/some/upper: on mnt/some),
  relative to BASE, unless something is mounted there already; read-only for
  LOWER, read-write for UPPER and WORK (the runtime says which in
  OVERLAY_BOOT_KEY; without it, read-write). The mount (and its loop device)
  belongs to the subhost and ends with it. Prints MOUNT/PATH less a leading
  "/" (relative to BASE). Does nothing but print unless ACTION=overlay-boot.
`;

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  const r = await diskfile(diskfileArgs(operands(a)), process.env, process.cwd());
  process.stdout.write(`${r.print}\n`);
  return 0;
}
