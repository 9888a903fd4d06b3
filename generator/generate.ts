// Read /etc/subhosts.conf and every config it lists, and convert each
// into units (convert.ts). One bad config is skipped with a message; it
// never stops the others. Commands in configs are never run here.
import { UnitValueError } from '../lib/unit-file.js';
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute } from 'node:path';
import { loadConfig } from '../lib/config/load.js';
import { MAX_TEXT_BYTES, TrustedDirs } from '../lib/config/open.js';
import { fstabPath } from '../lib/paths.js';
import { capProblems } from '../lib/config/problem.js';
import { readSubhostsConfHead, type Listed } from '../lib/registry.js';
import { readMountinfo, unescapeMountField } from '../lib/storage/mountinfo.js';
import { NameSchema } from '../lib/config/fields.js';
import { convert, convertUnreadable, type Output, type Templates } from './convert.js';
import { hostFacts, type HostFacts } from '../lib/plan/plan.js';
import { executorSigOps, sigOps } from '../lib/plan/sig.js';

export interface Generated {
  output: Output;
  /** Problems: the config named was skipped. */
  errors: string[];
  /** Notes: the config was used, but something deserves a look. */
  warnings: string[];
  /** NAME -> conf, for what was generated. */
  subhosts: Map<string, string>;
}

/** Messages about one listed config, at most (then a count). */
export const MAX_LINES_PER_FILE = 5;

/** Messages about listed paths that cannot be read, at most (then a count). */
export const MAX_UNREADABLE_LINES = 5;

/**
 * The file systems /etc/fstab lists that are not mounted yet (the
 * generator runs before they are, at boot): a config below one may be
 * there once it is. Read once per run.
 */
export function mountsToCome(fstab = fstabPath()): string[] {
  let text = '';
  try {
    text = readFileSync(fstab, 'utf8');
  } catch {
    return [];
  }
  const mounted = new Set(readMountinfo().map((m) => m.point));
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.replace(/#.*/, '').trim().split(/\s+/);
    const point = f[1] === undefined ? '' : unescapeMountField(f[1]);
    if (point.startsWith('/') && point !== '/' && !mounted.has(point)) out.push(point);
  }
  return out;
}

const UNIT_DIRS = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/usr/local/lib/systemd/system',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
];

export function findTemplates(dirs = UNIT_DIRS): Templates {
  const find = (n: string) => dirs.map((d) => `${d}/${n}`).find((p) => existsSync(p)) ?? `/usr/lib/systemd/system/${n}`;
  return { subhost: find('subhost@.service'), target: find('subhosts.target') };
}

/**
 * outDir: where the output will be written (plans are referenced by
 * absolute path from the drop-ins); undefined writes no plans.
 * emit: takes each subhost's output as soon as it is made (the generator
 * writes it at once: 1000 subhosts' files are not all kept in memory);
 * without it, everything is collected in `output`.
 */
/** Where a run's time went, ms (performance.now()): only when asked for (main.ts, OVERLAY_BOOT_GENERATOR_TIMES). */
export interface PhaseTimes {
  /** Reading and checking the configs (trust, parsing, validation). */
  load: number;
  /** Plans and unit files, in memory. */
  convert: number;
  /** Handing them to `emit` (the writes). */
  write: number;
}

export async function generate(
  subhostsConf: string,
  templates: Templates,
  outDir?: string,
  emit?: (out: Output) => void,
  times?: PhaseTimes,
): Promise<Generated> {
  const clock = (k: keyof PhaseTimes, t0: number) => {
    if (times) times[k] += performance.now() - t0;
  };
  // Taken once per run, for every plan: the host's facts and the package's executors.
  let facts: HostFacts | undefined;
  let executors: string[][] | undefined;
  const g: Generated = { output: { files: new Map(), links: new Map() }, errors: [], warnings: [], subhosts: new Map() };
  let listed: Listed[];
  try {
    const head = readSubhostsConfHead(subhostsConf);
    listed = head.listed;
    if (head.truncatedFrom !== undefined) {
      const last = listed.at(-1)?.line ?? 0;
      g.errors.push(
        `${subhostsConf}: ${head.truncatedFrom} bytes, more than the ${MAX_TEXT_BYTES} (1 MiB) read: ` +
          `only its first ${last} lines are used (subhosts listed after line ${last} get no unit); list fewer paths, one per line`,
      );
    }
  } catch (e) {
    g.errors.push(`${subhostsConf}: cannot read: ${(e as Error).message}`);
    return g;
  }
  const seen = new Map<string, string>();
  // Each path once: a duplicate line says nothing more (counted, said once).
  const listedPaths = new Set<string>();
  let duplicates = 0;
  let unreadable = 0;
  let toCome: string[] | undefined;
  // Most configs sit below the same few directories: each is checked (and resolved) once per run.
  const trustedDirs = new TrustedDirs();
  const realpaths = new Map<string, string>();
  try {
    for (const l of listed) {
      if (listedPaths.has(l.path)) {
        duplicates++;
        continue;
      }
      listedPaths.add(l.path);
      await generateOne(l);
    }
  } finally {
    trustedDirs.close();
  }
  if (duplicates) g.warnings.push(`${subhostsConf}: ${duplicates} line(s) list a path listed before; each path is used once`);
  if (unreadable > MAX_UNREADABLE_LINES) {
    g.errors.push(
      `${subhostsConf}: ... and ${unreadable - MAX_UNREADABLE_LINES} more listed path(s) that cannot be read; no unit for them`,
    );
  }
  // subhosts.target is wanted at boot as soon as anything is registered.
  if (g.subhosts.size) add({ files: new Map(), links: new Map([['multi-user.target.wants/subhosts.target', templates.target]]) });
  return g;

  function add(out: Output): void {
    if (emit) {
      const t0 = performance.now();
      emit(out);
      clock('write', t0);
      return;
    }
    for (const [k, v] of out.files) g.output.files.set(k, v);
    for (const [k, v] of out.links) g.output.links.set(k, v);
  }

  async function generateOne(l: (typeof listed)[number]): Promise<void> {
    const at = `${subhostsConf}:${l.line}`;
    if (!isAbsolute(l.path)) {
      g.errors.push(`${at}: "${l.path}" is not an absolute path; skipped`);
      return;
    }
    const reg = { path: l.path, listedAt: at };
    // Read once, by descriptor, never blocking (lib/config/open.ts): a
    // FIFO or a device listed here must not hold up the boot.
    let t0 = performance.now();
    const r = await loadConfig(l.path, { checkFs: false, trustedDirs, realpaths });
    clock('load', t0);
    t0 = performance.now();
    let out: Output;
    let name: string;
    if (r.unreadable === 'ENOENT' || r.unreadable === 'EACCES') {
      // A unit only when the config may be there once /etc/fstab's file
      // systems are mounted (at boot, the generator runs before them):
      // every unit costs systemd at each daemon-reload, and a list of
      // paths that are not there must not cost it one each.
      toCome ??= mountsToCome();
      const under = toCome.find((m) => l.path.startsWith(`${m}/`));
      name = basename(l.path).replace(/\.conf$/, '');
      if (!under || !NameSchema.safeParse(name).success) {
        if (++unreadable <= MAX_UNREADABLE_LINES) {
          g.errors.push(
            `${at}: ${l.path} cannot be read (${r.unreadable})${under ? ', and its file name gives no valid NAME' : ''}; no unit made`,
          );
        }
        return;
      }
      g.warnings.push(`${at}: ${l.path} cannot be read now (${under} is not mounted yet); subhost@${name} will check it when it starts`);
      out = convertUnreadable(reg, name, templates);
    } else {
      // A few lines per file at most: a file of garbage must not flood the kernel log.
      const shown = capProblems(l.path, [...r.problems, ...r.warnings], MAX_LINES_PER_FILE);
      shown.forEach((line, i) => {
        if (i < r.problems.length) g.errors.push(`${line} (listed at ${at}; skipped)`);
        else (r.problems.length ? g.errors : g.warnings).push(line);
      });
      if (r.problems.length) return;
      name = r.partial.NAME!;
      // What the plans need from the host: the facts, and the signature of
      // the config (the unit's OVERLAY_BOOT_CONF is that same path).
      if (outDir) {
        facts ??= hostFacts();
        executors ??= executorSigOps();
      }
      try {
        out = convert(reg, r, templates, outDir && facts ? { outDir, facts, sig: sigOps(l.path, l.path, [], executors) } : undefined);
      } catch (e) {
        // A value the unit-file model refuses (it cannot be one line of a unit).
        if (!(e instanceof UnitValueError)) throw e;
        g.errors.push(`${at}: ${l.path}: ${e.message}; skipped`);
        return;
      }
    }
    clock('convert', t0);
    const first = seen.get(name);
    if (first) {
      g.errors.push(`${at}: ${l.path}: NAME ${name} is already used by ${first}; skipped`);
      return;
    }
    seen.set(name, l.path);
    g.subhosts.set(name, l.path);
    add(out);
  }
}
