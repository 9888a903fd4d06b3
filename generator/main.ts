// overlay-boot-generator: a systemd generator (systemd.generator(7)).
//   overlay-boot-generator NORMAL_DIR [EARLY_DIR LATE_DIR]
//   overlay-boot-generator --dry-run [SUBHOSTS_CONF]
// Writes only into NORMAL_DIR, talks to no other process, runs no
// command from any config. Messages go to the kernel log (the journal
// shows them) when systemd runs it, and to stderr otherwise. It writes
// into a fresh directory that systemd reads only once it exited: plain
// writes, no atomic replacement needed.
import { mkdirSync, writeFileSync, symlinkSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SUBHOSTS_CONF } from '../lib/paths.js';
import { enabledSubhosts } from '../lib/registry.js';
import { UsageError } from '../lib/errors.js';
import { parseArgs, operands } from '../lib/args.js';
import { runMain } from '../lib/run-main.js';
import { generate, findTemplates } from './generate.js';
import type { Output } from './convert.js';

const TAG = 'overlay-boot-generator';
/** Messages of one run, at most (then a count). */
const MAX_MESSAGES = 40;

function logger(toKmsg: boolean): (level: 3 | 4, msg: string) => void {
  let fd: number | undefined;
  if (toKmsg) {
    try {
      fd = openSync('/dev/kmsg', 'a'); // append: never O_TRUNC
    } catch {
      fd = undefined;
    }
  }
  return (level, msg) => {
    const line = `${TAG}: ${msg}\n`;
    if (fd !== undefined) {
      try {
        writeSync(fd, `<${level}>${line}`);
      } catch {
        /* kmsg rate limits or refuses: stderr below still has it */
      }
    }
    process.stderr.write(level === 3 ? line : `${TAG}: warning: ${msg}\n`);
  };
}

/**
 * Writes each subhost's output into out as it is made. Each directory is
 * made once (a unit's .d holds one file): with 1000 configs, a recursive
 * mkdir per file was a good part of the writing.
 */
function writer(out: string): (o: Output) => void {
  const made = new Set<string>();
  const place = (path: string): string => {
    const full = join(out, path);
    const dir = dirname(full);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    return full;
  };
  return (o) => {
    for (const [path, text] of o.files) writeFileSync(place(path), text);
    for (const [path, target] of o.links) symlinkSync(target, place(path));
  };
}

const usage = `Usage: ${TAG} NORMAL_DIR [EARLY_DIR LATE_DIR]\n       ${TAG} --dry-run [SUBHOSTS_CONF]\n`;

async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { flags: ['--dry-run'] });
  if (a.help) {
    process.stdout.write(usage);
    return 0;
  }
  const dry = a.flags.has('--dry-run');
  const args = operands(a);
  if (dry ? args.length > 1 : args.length !== 1 && args.length !== 3) {
    throw new UsageError(args.length ? 'too many arguments' : 'missing NORMAL_DIR');
  }
  const conf = dry ? (args[0] ?? SUBHOSTS_CONF) : SUBHOSTS_CONF;
  // For bench/: where a run's time goes, one line on stderr (performance.now() counts from the process's start).
  const times = process.env.OVERLAY_BOOT_GENERATOR_TIMES ? { load: 0, convert: 0, write: 0 } : undefined;
  const began = performance.now();
  const g = await generate(conf, findTemplates(), dry ? undefined : args[0], dry ? undefined : writer(args[0]!), times);
  if (times) {
    const total = performance.now();
    const rest = total - began - times.load - times.convert - times.write;
    const f = (x: number) => x.toFixed(1);
    process.stderr.write(
      `${TAG}: times: start-up ${f(began)} load ${f(times.load)} convert ${f(times.convert)} write ${f(times.write)} rest ${f(rest)} total ${f(total)} ms\n`,
    );
  }
  const log = logger(!dry);
  // A few dozen lines at most, then how many more: a list of thousands of
  // bad lines must not flood the kernel log at every daemon-reload.
  const all: [3 | 4, string][] = [...g.errors.map((e): [3, string] => [3, e]), ...g.warnings.map((w): [4, string] => [4, w])];
  for (const [level, msg] of all.slice(0, MAX_MESSAGES)) log(level, msg);
  if (all.length > MAX_MESSAGES) log(4, `... and ${all.length - MAX_MESSAGES} more message(s) about ${conf}`);
  // `systemctl enable subhost@NAME` (it reloads systemd, so this runs
  // right after) of a subhost with no listed config: it runs this boot
  // from the run-time registry, but fails at the next (the unit itself
  // says why then, too).
  if (!dry) {
    for (const [name, links] of enabledSubhosts()) {
      if (g.subhosts.has(name)) continue;
      log(
        4,
        `subhost@${name}.service is enabled (${links.join(', ')}), but no config listed in ${conf} has NAME ${name}: ` +
          `it will fail at boot; use "overlay-boot enable CONF" and "systemctl disable subhost@${name}"`,
      );
    }
  }
  if (dry) {
    for (const [path, text] of g.output.files) process.stdout.write(`---- ${path} ----\n${text}\n`);
    for (const [path, target] of g.output.links) process.stdout.write(`---- ${path} -> ${target}\n`);
  }
  // Exit status 1 when configs were skipped, as Quadlet: systemd logs
  // "overlay-boot-generator failed with exit status 1" and still loads
  // what was written (the other subhosts) and runs the other generators
  // (test/e2e/generator.test.ts, on systemd 252).
  return g.errors.length ? 1 : 0;
}

runMain(TAG, { usage, run });
