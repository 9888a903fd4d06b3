// A minimal reader of systemd unit/drop-in text for assertions: sections
// of (key, value) pairs in order, repeated keys kept (unlike INI readers).
export type UnitFile = Map<string, [string, string][]>;

export function parseUnit(text: string): UnitFile {
  const u: UnitFile = new Map();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      if (!u.has(section)) u.set(section, []);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`not a unit line: ${line}`);
    u.get(section)!.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return u;
}

export function values(u: UnitFile, section: string, key: string): string[] {
  return (u.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}
