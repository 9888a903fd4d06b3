// What the package documents, checked against what it ships (no sandbox):
// every man page renders without a warning, each command's --help synopsis
// is in its man page, every config key of README.md's reference is in
// overlay-boot.conf(5), the completion completes, the subhost scripts parse.
import { describe, it, expect, beforeAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { ROOT, DIST } from './kit.js';

const MANPAGES = [
  'overlay-boot.8',
  'overlay-stop.8',
  'overlay-go.8',
  'overlay-share.8',
  'overlay-diskfile.8',
  'overlay-clean-root.8',
  'overlay-boot-generator.8',
  'overlay-boot.conf.5',
  'subhost@.service.8',
  'overlay-boot-subhost-scripts.7',
];

let out: string;
const rendered = new Map<string, string>();

/** The page as text: man -l, 80 columns (as lintian reads it), ASCII. */
async function render(page: string): Promise<{ text: string; warnings: string }> {
  const r = await execa('man', ['--warnings', '-l', join(out, page)], {
    env: { MANWIDTH: '80', LC_ALL: 'C', MAN_KEEP_FORMATTING: '' },
    reject: false,
  });
  if (r.exitCode !== 0) throw new Error(`man -l ${page}: ${r.stderr}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: man's overstrike (char, backspace, char)
  return { text: r.stdout.replace(/.\x08/g, ''), warnings: r.stderr.trim() };
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
const section = (text: string, name: string) => {
  const m = new RegExp(`^${name}\\n([\\s\\S]*?)(?=^[A-Z][A-Z ]+\\n)`, 'm').exec(text);
  return m ? squash(m[1]!) : '';
};

/**
 * Synopsis lines of a --help text: what follows "Usage:" on its line, and
 * the following lines (up to a blank one) that start with the command,
 * each cut at its description (two or more blanks).
 */
function synopses(help: string, command: string): string[] {
  const lines = help.split('\n');
  const i = lines.findIndex((l) => l.startsWith('Usage:'));
  if (i < 0) return [];
  const out: string[] = [];
  const first = lines[i]!.slice('Usage:'.length).trim();
  if (first) out.push(first);
  for (const l of lines.slice(i + 1)) {
    if (!l.trim()) break;
    if (l.trim().startsWith(`${command} `) || l.trim() === command) out.push(l.trim());
  }
  return out.map((s) => squash(s.split(/ {2,}/)[0]!));
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'ob-man-'));
  await execa('make', ['-s', '-C', join(ROOT, 'man'), `O=${out}`]);
  for (const p of MANPAGES) rendered.set(p, (await render(p)).text);
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('man pages', () => {
  it('every page renders with man -l, without a warning, with NAME, SYNOPSIS and DESCRIPTION', async () => {
    const built = readdirSync(out).filter((f) => /\.[1-9]$/.test(f));
    expect(built).toEqual(expect.arrayContaining(MANPAGES));
    for (const f of built) {
      const src = readFileSync(join(out, f), 'utf8');
      if (src.startsWith('.so ')) {
        // asciidoctor's alias pages (e.g. devnodes(7)): their target is built.
        expect(existsSync(join(out, src.slice(4).trim())), `${f} -> ${src}`).toBe(true);
        continue;
      }
      const { text, warnings } = await render(f);
      expect(warnings, f).toBe('');
      for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'SEE ALSO']) expect(text, `${f}: ${s}`).toMatch(new RegExp(`^${s}$`, 'm'));
    }
  });

  it("overlay-boot.conf(5) has every key of README.md's configuration reference, with its default", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const ref = readme.slice(readme.indexOf('## Configuration reference'), readme.indexOf('## Differences from 1.6'));
    const rows = [...ref.matchAll(/^\| `([A-Z_]+)` \| ([^|]*) \|/gm)].map((m) => [m[1]!, m[2]!.trim()] as const);
    expect(rows.length).toBeGreaterThanOrEqual(25);
    const variables = section(rendered.get('overlay-boot.conf.5')!, 'VARIABLES');
    for (const [key, second] of rows) {
      expect(variables, key).toMatch(new RegExp(`(^| )${key}( |$)`));
      // The 1.6 table's second column is the default: plain values appear as such.
      const plain = /^`([^`]+)`$/.exec(second);
      if (plain) expect(variables, `${key} default ${plain[1]}`).toContain(plain[1]!.replace(/\\\|/g, '|'));
    }
  });

  // Each command's real --help (from the bundles in dist/) against its page.
  const COMMANDS: Array<[string, string[], string]> = [
    ['overlay-boot', [], 'overlay-boot.8'],
    ...['start', 'stop', 'status', 'list', 'enable', 'disable', 'check', 'create', 'remove', 'export', 'import', 'move'].map(
      (s) => ['overlay-boot', [s], 'overlay-boot.8'] as [string, string[], string],
    ),
    ['overlay-stop', [], 'overlay-stop.8'],
    ['overlay-go', [], 'overlay-go.8'],
    ['overlay-share', [], 'overlay-share.8'],
    ['overlay-diskfile', [], 'overlay-diskfile.8'],
    ['overlay-clean-root', [], 'overlay-clean-root.8'],
    ['overlay-boot-generator', [], 'overlay-boot-generator.8'],
  ];
  for (const [cmd, sub, page] of COMMANDS) {
    const label = [cmd, ...sub].join(' ');
    it(`${label} --help: its synopsis is in ${page}`, async (ctx) => {
      const bundle = join(DIST, `${cmd}.cjs`);
      // Commands land one by one (cli/): a page comes first, its check once the bundle exists.
      if (!existsSync(bundle)) ctx.skip(`${bundle} is not built yet`);
      const r = await execa('node', [bundle, ...sub, '--help'], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = synopses(r.stdout, cmd);
      expect(lines.length, r.stdout).toBeGreaterThan(0);
      const synopsis = section(rendered.get(page)!, 'SYNOPSIS');
      for (const l of lines) expect(synopsis, `${label}: "${l}"`).toContain(l);
    });
  }
});

describe('bash completion', () => {
  /** Complete `line` (cursor at its end) with the completion file, systemd stubbed, in `cwd` (the man output dir: no .conf, no directory). */
  async function complete(line: string, cwd = out): Promise<string[]> {
    const script = `
      [ -f /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
      systemctl() { printf '%s\\n' 'subhost@alpha.service loaded active running Subhost alpha' '● subhost@beta-2.service loaded failed failed Subhost beta-2'; }
      . ${join(ROOT, 'completion/overlay-boot')}
      COMP_LINE="$1"; COMP_POINT=\${#1}
      read -ra COMP_WORDS <<<"$1"; [[ $1 == *' ' ]] && COMP_WORDS+=('')
      COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
      _overlay_boot "\${COMP_WORDS[0]}" "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
      printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = await execa('bash', ['-c', script, 'complete', line], { cwd });
    return r.stdout.split('\n').filter(Boolean).sort();
  }

  it('completes subcommands, subhost names from systemd, options and config files', async () => {
    expect(await complete('overlay-boot st')).toEqual(['start', 'status', 'stop']);
    expect(await complete('overlay-boot stop ')).toEqual(expect.arrayContaining(['alpha', 'beta-2']));
    expect(await complete('overlay-boot status a')).toEqual(['alpha']);
    expect(await complete('overlay-boot check --')).toEqual(['--help', '--json']);
    expect(await complete('overlay-stop b')).toEqual(['beta-2']);
    expect(await complete('overlay-go ')).toEqual(['alpha', 'beta-2']);
    expect(await complete('overlay-go alpha ')).toEqual(['--']);
    expect(await complete('overlay-share --')).toEqual(['--help', '--no-mkdir', '--ro']);
    expect(await complete('overlay-share /tmp ')).toEqual(['alpha', 'beta-2']);
    expect(await complete('overlay-clean-root --d')).toEqual(['--dry-run']);
    // Config files, and directories to descend into (examples/ansible has no .conf).
    expect(await complete('overlay-boot enable examples/', ROOT)).toEqual(['examples/ansible', 'examples/demo.conf']);
    expect(await complete('overlay-boot cr')).toEqual(['create']);
    expect(await complete('overlay-boot remove ')).toEqual(['alpha', 'beta-2']);
    expect(await complete('overlay-boot remove --')).toEqual(['--help', '--purge']);
    expect(await complete('overlay-boot create --containment ')).toEqual(['contained', 'none']);
    expect(await complete('overlay-boot create --j')).toEqual(['--journal']);
  });
});

describe('subhost scripts', () => {
  for (const s of ['devnodes', 'wait-online']) {
    it(`${s}: POSIX sh, an LSB init-d-script with start, stop and status`, async () => {
      const f = join(ROOT, 'subhost-scripts', s);
      const text = readFileSync(f, 'utf8');
      expect(text.split('\n')[0]).toBe('#!/bin/sh /lib/init/init-d-script');
      expect(text).toMatch(new RegExp(`^# Provides: +${s}$`, 'm'));
      for (const fn of ['do_start_override', 'do_stop_override', 'do_status_override']) expect(text).toContain(`${fn}()`);
      expect(text).not.toMatch(/\/tmp\//);
      expect((await execa('sh', ['-n', f], { reject: false })).exitCode).toBe(0);
      if (existsSync('/bin/dash')) expect((await execa('dash', ['-n', f], { reject: false })).exitCode).toBe(0);
    });
  }
});
