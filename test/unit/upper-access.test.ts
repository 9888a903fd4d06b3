// upperReachableWarning: check's warning when a user other than root can
// reach a config's UPPER (search permission on every directory down to it).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { upperReachableWarning } from '../../cli/support/upper-access.js';

describe.skipIf(process.getuid?.() !== 0)('upperReachableWarning (as root: root-owned directories)', () => {
  let top: string;
  beforeAll(() => {
    top = mkdtempSync(`${tmpdir()}/upper-access-`);
    mkdirSync(`${top}/base/root`, { recursive: true });
  });
  afterAll(() => rmSync(top, { recursive: true, force: true }));

  it('warns for a 0755 chain (as create made them before), naming UPPER and the directory above it', () => {
    chmodSync(top, 0o755);
    chmodSync(`${top}/base`, 0o755);
    const w = upperReachableWarning(`${top}/base/root`);
    expect(w).toMatch(
      new RegExp(
        `^UPPER ${top}/base/root is reachable by users other than root .*the last, ${top}/base, is mode 0755 owner 0\\).*chmod 700 ${top}/base closes it$`,
      ),
    );
    expect(w).not.toContain('\n');
  });
  it('is silent when one directory on the way stops them (BASE 0700, as create makes it)', () => {
    chmodSync(`${top}/base`, 0o700);
    expect(upperReachableWarning(`${top}/base/root`)).toBeUndefined();
    chmodSync(`${top}/base`, 0o755);
    chmodSync(top, 0o700);
    expect(upperReachableWarning(`${top}/base/root`)).toBeUndefined();
  });
  it('group search counts only for a group other than root', () => {
    chmodSync(top, 0o750);
    expect(upperReachableWarning(`${top}/base/root`)).toBeUndefined();
  });
});
