// The config and host facts the plan tests start from (plan.test.ts,
// plan-contract.test.ts): a contained subhost /s/x with custom hooks.
import type { SubhostConfig } from '../../lib/config/fields.js';
import type { HostFacts } from '../../lib/plan/plan.js';

export const planBase: SubhostConfig = {
  CONFIG: '/s/x/x.conf',
  NAME: 'x',
  BASE: '/s/x',
  LIVE: '/s/x/live',
  UPPER: '/s/x/root',
  WORK: '/s/x/work',
  LOWER: '/',
  CABLES: [],
  START: ['networking', 'ssh'],
  PREMOUNT: { argv: ['/p'] },
  POSTMOUNT: { argv: ['/q'] },
  INIT: { argv: ['/i'] },
  RAM_SIZE: '50M',
  REAPER: '/.reaper',
  SHARE: [],
  LOG: '',
  AFTER: [],
  REQUIRES: [],
  START_TIMEOUT: 30,
  CONTAINMENT: 'contained',
  JOURNAL: 'yes',
  SYSTEMD: {},
};
export const planFacts: HostFacts = { ttyGid: 5, reaper: '/usr/lib/overlay-boot/reaper', relay: '/usr/lib/overlay-boot/subhost-relay' };
