// CONTAINMENT=contained is split between the unit template (systemd drops
// the capabilities for the whole unit) and subhost-enter (which drops
// them again, with CAP_SYS_ADMIN, right before the init): the two lists
// must not drift apart.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url).pathname;

describe('the containment contract between the unit and subhost-enter', () => {
  it('drops the same capabilities, and only subhost-enter drops CAP_SYS_ADMIN', () => {
    const unit = readFileSync(`${root}units/subhost@.service.in`, 'utf8');
    const fromUnit = /^CapabilityBoundingSet=~(.*)$/m.exec(unit)![1]!.trim().split(/\s+/).sort();
    const c = readFileSync(`${root}native/contain.c`, 'utf8');
    const table = /dropped_caps\[\] = \{([^}]*)\}/.exec(c)![1]!;
    const fromC = table.match(/CAP_[A-Z_]+/g)!.sort();
    expect(fromC.filter((x) => x !== 'CAP_SYS_ADMIN')).toEqual(fromUnit);
    expect(fromC).toContain('CAP_SYS_ADMIN');
    expect(fromUnit).not.toContain('CAP_SYS_ADMIN');
    // What issue 11 requires at least.
    for (const cap of [
      'SYS_MODULE',
      'SYS_RAWIO',
      'SYS_TIME',
      'SYS_BOOT',
      'SYSLOG',
      'MAC_ADMIN',
      'MAC_OVERRIDE',
      'BPF',
      'PERFMON',
      'SYS_PACCT',
      'WAKE_ALARM',
      'BLOCK_SUSPEND',
      'DAC_READ_SEARCH',
      'CHECKPOINT_RESTORE',
      'AUDIT_CONTROL',
      'SYS_ADMIN',
    ]) {
      expect(fromC).toContain(`CAP_${cap}`);
    }
  });
});
