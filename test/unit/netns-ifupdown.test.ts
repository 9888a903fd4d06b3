// subhost-netns runs ifup only for a host end ifupdown has a stanza for,
// found by reading interfaces(5) files rather than running ifquery at
// every start: its finder must say what `ifquery -i FILE IFACE` says.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const NETNS = new URL('../../dist/subhost-netns', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ob-ifupdown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function files(name: string, tree: Record<string, string>): string {
  const base = join(dir, name);
  for (const [p, content] of Object.entries(tree)) {
    mkdirSync(join(base, p, '..'), { recursive: true });
    writeFileSync(join(base, p), content.replaceAll('@BASE@', base));
  }
  return join(base, 'interfaces');
}

const finder = async (file: string, iface: string) => (await execa(NETNS, ['--ifupdown-stanza', iface, file], { reject: false })).exitCode;
// By its path: /sbin is not on a normal user's PATH.
const ifquery = async (file: string, iface: string) => (await execa('/sbin/ifquery', ['-i', file, iface], { reject: false })).exitCode;

const cases: [string, Record<string, string>, string[]][] = [
  [
    'one file: comments, indentation, continuations, auto without iface',
    {
      interfaces: [
        'auto lo',
        'iface lo inet loopback',
        '# iface cmt0 inet manual',
        'auto only0',
        'allow-hotplug hot0',
        '  iface ind0 inet manual',
        'iface \\',
        '  cont0 inet manual',
        'iface six0 inet6 manual',
        '    up echo iface opt0',
        '',
      ].join('\n'),
    },
    ['lo', 'cmt0', 'only0', 'hot0', 'ind0', 'cont0', 'six0', 'opt0', 'none0'],
  ],
  [
    'source with a glob (relative to the file), source-directory (run-parts names only), an absolute source',
    {
      interfaces: 'source d/*\nsource-directory sd\nsource @BASE@/abs\n',
      'd/a': 'iface glob0 inet manual\n',
      'd/b.conf': 'iface glob1 inet manual\n',
      'sd/good-name': 'iface sd0 inet manual\n',
      'sd/bad.name': 'iface sddot0 inet manual\n',
      abs: 'source nested\n',
      nested: 'iface deep0 inet manual\n',
    },
    ['glob0', 'glob1', 'sd0', 'sddot0', 'deep0', 'nested0', 'none0'],
  ],
  [
    'Debian default: interfaces.d empty',
    { interfaces: 'source /nonexistent-ob-test/*\nauto lo\niface lo inet loopback\n' },
    ['lo', 'eth9'],
  ],
];

describe('the ifupdown stanza finder agrees with ifquery -i FILE', () => {
  it.each(cases)('%s', async (title, tree, ifaces) => {
    const file = files(title.replace(/\W+/g, '-'), tree);
    const found: string[] = [];
    for (const i of ifaces) {
      const q = await ifquery(file, i);
      expect(await finder(file, i), `${i}: ifquery exits ${q}`).toBe(q);
      if (q === 0) found.push(i);
    }
    // Each case has interfaces on both sides.
    expect(found.length).toBeGreaterThan(0);
    expect(found.length).toBeLessThan(ifaces.length);
  });

  it('a mapping stanza that matches defers to ifquery (it runs a script); a missing file finds nothing', async () => {
    const file = files('mapping', { interfaces: 'mapping eth* map9\n  script /bin/false\niface lo inet loopback\n' });
    expect(await finder(file, 'eth0')).toBe(3);
    expect(await finder(file, 'lo')).toBe(0);
    expect(await finder(file, 'other0')).toBe(1);
    expect(await finder(join(dir, 'missing'), 'lo')).toBe(1);
  });
});
