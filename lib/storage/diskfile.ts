// overlay-diskfile: mount a disk image file (or one partition of it) so
// that a subhost's LOWER or UPPER+WORK can live on it. Run by the runtime
// as a `VAR=!overlay-diskfile MOUNT/PATH IMAGE [PARTITION]` config value,
// in the subhost unit's own mount namespace: the mount is the subhost's
// alone and goes away with it (and, with the loop device's autoclear, so
// does the loop device).
//
// 1.6 semantics: act only when ACTION=overlay-boot and an IMAGE is given;
// mount it on the directory part of MOUNT/PATH unless something is mounted
// there already; print MOUNT/PATH less a leading "/" (a path relative to
// BASE, the command's working directory).
import { execa } from 'execa';
import { closeSync, openSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Failure, UsageError } from '../errors.js';
import { parseArgs, operands } from '../args.js';
import { mountAt, readMountinfo } from './mountinfo.js';

export interface DiskfileArgs {
  /** MOUNT/PATH as given. */
  path: string;
  image?: string;
  /** 1-based partition number; undefined: the whole image is the filesystem. */
  partition?: number;
}

/** The arguments of overlay-diskfile (it takes no options). */
export function parseDiskfileArgs(argv: string[]): DiskfileArgs {
  return diskfileArgs(operands(parseArgs(argv)));
}

/** The operands MOUNT/PATH [IMAGE [PARTITION]], checked. */
export function diskfileArgs(words: string[]): DiskfileArgs {
  if (words.length === 0) throw new UsageError('missing MOUNT/PATH');
  if (words.length > 3) throw new UsageError(`too many arguments (${words.length}; at most 3)`);
  const [path, image, part] = words as [string, string?, string?];
  if (path === '' || path === '/') throw new UsageError('MOUNT/PATH must name a directory under BASE');
  let partition: number | undefined;
  if (part !== undefined && part !== '') {
    if (!/^[1-9][0-9]{0,3}$/.test(part)) throw new UsageError(`PARTITION must be a partition number (1, 2, ...), not "${part}"`);
    partition = Number(part);
  }
  return { path, image: image === '' ? undefined : image, partition };
}

/** What is printed: MOUNT/PATH less one leading "/" (1.6: `echo "${1#/}"`), relative to BASE. */
export function printedPath(path: string): string {
  return path.startsWith('/') ? path.slice(1) : path;
}

/**
 * The mount point, relative to BASE: the part of MOUNT/PATH before its last
 * "/" (1.6: `${1%/*}`), taken after the leading "/" is dropped so that it
 * names the same directory as the printed path.
 */
export function mountPointArg(path: string): string {
  const p = printedPath(path);
  const i = p.lastIndexOf('/');
  const m = i < 0 ? p : p.slice(0, i);
  if (m === '') throw new UsageError(`"${path}" names no mount point directory`);
  return m;
}

export interface Partition {
  /** Partition number (the N of IMAGEN / IMAGEpN), else its 1-based position. */
  number: number;
  start: number;
  size: number;
  type?: string;
}

export interface PartitionTable {
  label: string;
  sectorSize: number;
  partitions: Partition[];
}

/** `sfdisk --json IMAGE` as data. */
export function parseSfdiskJson(json: string): PartitionTable {
  let pt: {
    label?: unknown;
    device?: unknown;
    sectorsize?: unknown;
    partitions?: { node?: unknown; start?: unknown; size?: unknown; type?: unknown }[];
  };
  try {
    pt = (JSON.parse(json) as { partitiontable: typeof pt }).partitiontable;
  } catch (e) {
    throw new Failure(`cannot read sfdisk's output: ${(e as Error).message}`);
  }
  if (!pt || typeof pt !== 'object') throw new Failure("cannot read sfdisk's output: no partitiontable");
  const device = typeof pt.device === 'string' ? pt.device : '';
  const sectorSize = typeof pt.sectorsize === 'number' && pt.sectorsize > 0 ? pt.sectorsize : 512;
  const partitions = (pt.partitions ?? []).map((p, i): Partition => {
    const node = typeof p.node === 'string' ? p.node : '';
    // IMAGE1, or IMAGEp1 when the image name ends in a digit.
    const m = node.startsWith(device) ? /^p?([0-9]+)$/.exec(node.slice(device.length)) : null;
    if (typeof p.start !== 'number' || typeof p.size !== 'number') {
      throw new Failure(`cannot read sfdisk's output: partition ${i + 1} has no start or size`);
    }
    return {
      number: m ? Number(m[1]) : i + 1,
      start: p.start,
      size: p.size,
      type: typeof p.type === 'string' ? p.type : undefined,
    };
  });
  return { label: typeof pt.label === 'string' ? pt.label : 'unknown', sectorSize, partitions };
}

// MBR types of extended partitions: containers of logical partitions.
const EXTENDED = new Set(['5', 'f', '85']);

/** Byte offset and size of partition `n` of `image` (named in messages). */
export function partitionExtent(table: PartitionTable, n: number, image: string): { offset: number; size: number } {
  const p = table.partitions.find((x) => x.number === n);
  if (!p) {
    const have = table.partitions.map((x) => x.number);
    const list = have.length === 0 ? 'none' : `${have.length === 1 ? 'only' : ''} ${have.join(', ')}`.trim();
    throw new Failure(
      `${image} has no partition ${n}: its ${table.label} partition table has ${have.length} partition${have.length === 1 ? '' : 's'} (${list})`,
    );
  }
  if (table.label === 'dos' && p.type && EXTENDED.has(p.type.toLowerCase())) {
    throw new Failure(`partition ${n} of ${image} is an extended partition (a container of logical partitions), not a filesystem`);
  }
  return { offset: p.start * table.sectorSize, size: p.size * table.sectorSize };
}

export async function readPartitionTable(image: string): Promise<PartitionTable | undefined> {
  const r = await execa('sfdisk', ['--json', image], { reject: false, timeout: 30_000, stdin: 'ignore' });
  if (r.failed && r.exitCode === undefined) {
    throw new Failure(`cannot run sfdisk (package fdisk): ${r.shortMessage}`);
  }
  if (r.exitCode !== 0) {
    if (/does not contain a recognized partition table/.test(r.stderr)) return undefined;
    throw new Failure(`sfdisk --json ${image}: ${firstLine(r.stderr) || `exit status ${r.exitCode}`}`);
  }
  return parseSfdiskJson(r.stdout);
}

export interface Probe {
  /** Filesystem type (TYPE=), e.g. ext4. */
  type?: string;
  /** USAGE= (filesystem, raid, crypto, other). */
  usage?: string;
  /** Partition table type (PTTYPE=) when the probed area holds one. */
  ptType?: string;
}

/** `blkid -p -o export` lines as data. */
export function parseBlkidExport(text: string): Probe {
  const kv = new Map<string, string>();
  for (const l of text.split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) kv.set(l.slice(0, i), l.slice(i + 1));
  }
  return { type: kv.get('TYPE'), usage: kv.get('USAGE'), ptType: kv.get('PTTYPE') };
}

/** What blkid finds in `image` (at `extent`, or the whole file). */
export async function probe(image: string, extent?: { offset: number; size: number }): Promise<Probe> {
  const args = ['-p', '-o', 'export'];
  if (extent) args.push('-O', String(extent.offset), '-S', String(extent.size));
  const r = await execa('blkid', [...args, image], { reject: false, timeout: 30_000, stdin: 'ignore' });
  if (r.failed && r.exitCode === undefined) throw new Failure(`cannot run blkid: ${r.shortMessage}`);
  if (r.exitCode === 2) return {}; // nothing recognized
  if (r.exitCode === 8) return { usage: 'ambivalent' };
  if (r.exitCode !== 0) throw new Failure(`blkid ${image}: ${firstLine(r.stderr) || `exit status ${r.exitCode}`}`);
  return parseBlkidExport(r.stdout);
}

/**
 * A contained subhost's unit may open loop devices only with the drop-in
 * the generator (or overlay-boot start) writes for configs that use this
 * command: say so when the device policy is what refused.
 */
function loopRefused(): string {
  try {
    closeSync(openSync('/dev/loop-control', 'r'));
    return '';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
      ? " (the unit's device policy refuses loop devices: list the config in /etc/subhosts.conf and run systemctl daemon-reload, or start it with overlay-boot start CONF)"
      : '';
  }
}

/** The filesystem type to mount, or a one-line reason why there is none. */
export function filesystemOf(p: Probe, where: string, partitions?: number): string {
  if (p.usage === 'ambivalent') {
    throw new Failure(`${where} carries more than one filesystem signature (blkid -p cannot tell which): wipe the stale one (wipefs)`);
  }
  if (!p.type) {
    if (p.ptType) {
      throw new Failure(
        `${where} holds a ${p.ptType} partition table${partitions !== undefined ? ` with ${partitions} partition${partitions === 1 ? '' : 's'}` : ''}, not a filesystem: give the partition number as the third argument`,
      );
    }
    throw new Failure(`${where} holds no filesystem that blkid recognizes (unknown filesystem, or not formatted)`);
  }
  if (p.usage !== 'filesystem') {
    throw new Failure(`${where} holds ${p.type} (${p.usage ?? 'unknown'} data), not a filesystem that can be mounted`);
  }
  return p.type;
}

export type Access = 'ro' | 'rw';

/**
 * Read-only for LOWER, read-write otherwise. The runtime says which
 * variable it is computing in OVERLAY_BOOT_KEY; without it (a runtime
 * that does not set it, or a run by hand) the mount is read-write, as 1.6
 * mounted it.
 */
export function accessFor(key: string | undefined): Access {
  return key === 'LOWER' ? 'ro' : 'rw';
}

/** Variables an image may be mounted for: those whose commands the subhost unit runs in its own mount namespace. */
export const MOUNT_KEYS = ['UPPER', 'WORK', 'LOWER'];

export interface DiskfileEnv {
  ACTION?: string;
  OVERLAY_BOOT_KEY?: string;
}

export interface DiskfileResult {
  /** The line to print. */
  print: string;
  /** What was done, for messages and tests. */
  mounted?: { image: string; mountPoint: string; type: string; options: string[] };
  alreadyMounted?: string;
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? '').trim();
}

function existsAs(p: string): 'file' | 'dir' | 'blockdev' | 'other' | undefined {
  try {
    const st = statSync(p);
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isBlockDevice() ? 'blockdev' : 'other';
  } catch {
    return undefined;
  }
}

/** The whole command, with cwd = BASE. Returns what to print; throws one-line errors. */
export async function diskfile(args: DiskfileArgs, env: DiskfileEnv, cwd: string): Promise<DiskfileResult> {
  const print = printedPath(args.path);
  const mpArg = mountPointArg(args.path);
  if (env.ACTION !== 'overlay-boot' || !args.image) return { print };
  const key = env.OVERLAY_BOOT_KEY || undefined;
  if (key && !MOUNT_KEYS.includes(key)) {
    throw new Failure(
      `mounts images only for ${MOUNT_KEYS.join(', ')} (it was run for ${key}, which is not computed in the subhost's own mount namespace)`,
    );
  }

  let mountPoint: string;
  try {
    mountPoint = realpathSync(resolve(cwd, mpArg));
  } catch {
    throw new Failure(`mount point ${resolve(cwd, mpArg)} does not exist (make the directory)`);
  }
  if (existsAs(mountPoint) !== 'dir') throw new Failure(`mount point ${mountPoint} is not a directory`);

  // Already mounted in this mount namespace (the subhost's: e.g. UPPER and
  // WORK on one image, or LOWER and UPPER on two partitions of one image
  // sharing a mount point): leave it, as 1.6 did.
  const there = mountAt(mountPoint, readMountinfo());
  if (there) {
    if (accessFor(key) === 'rw' && there.options.includes('ro')) {
      process.stderr.write(
        `overlay-diskfile: warning: ${mountPoint} is already mounted read-only (${there.source}); ${key ?? 'this'} needs it writable\n`,
      );
    }
    return { print, alreadyMounted: mountPoint };
  }

  const image = resolve(cwd, args.image);
  const kind = existsAs(image);
  if (kind === undefined) throw new Failure(`image ${image} does not exist`);
  if (kind !== 'file' && kind !== 'blockdev') throw new Failure(`image ${image} is not a file`);

  let extent: { offset: number; size: number } | undefined;
  let where = image;
  let partitions: number | undefined;
  if (args.partition !== undefined) {
    const table = await readPartitionTable(image);
    if (!table)
      throw new Failure(
        `${image} has no partition table (sfdisk finds none), so no partition ${args.partition}: leave out the partition number to mount the whole image`,
      );
    extent = partitionExtent(table, args.partition, image);
    where = `partition ${args.partition} of ${image}`;
  } else {
    partitions = (await readPartitionTable(image).catch(() => undefined))?.partitions.length;
  }
  const type = filesystemOf(await probe(image, extent), where, partitions);

  const access = accessFor(key);
  // loop: util-linux sets up a loop device with autoclear, released when
  // the filesystem is unmounted (when the subhost's mount namespace ends).
  const options = ['loop'];
  if (extent) options.push(`offset=${extent.offset}`, `sizelimit=${extent.size}`);
  options.push(access);
  // -n: nothing in /run/mount/utab, which the host shares.
  const r = await execa('mount', ['-n', '-t', type, '-o', options.join(','), '--', image, mountPoint], {
    reject: false,
    timeout: 60_000,
    stdin: 'ignore',
  });
  if (r.exitCode !== 0) {
    const why = firstLine(r.stderr) || r.shortMessage || `exit status ${r.exitCode}`;
    throw new Failure(`cannot mount ${where} (${type}, ${access}) on ${mountPoint}: ${why.replace(/^mount: /, '')}${loopRefused()}`);
  }
  return { print, mounted: { image, mountPoint, type, options } };
}
