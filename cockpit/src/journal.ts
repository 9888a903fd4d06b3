// The journal of a subhost's units (subhost@, subhost-netns@,
// subhost-machine@ NAME: its services' lines come through the first),
// followed live with journalctl as Cockpit's own log view reads it, and a
// link to that view filtered to the subhost's unit.
import { h } from './dom.js';

const MAX_LINES = 300;

interface Entry {
  __REALTIME_TIMESTAMP?: string;
  SYSLOG_IDENTIFIER?: string;
  _COMM?: string;
  _PID?: string;
  MESSAGE?: string | number[];
  PRIORITY?: string;
}

function lineOf(e: Entry): HTMLElement {
  const t = e.__REALTIME_TIMESTAMP ? new Date(Number(e.__REALTIME_TIMESTAMP) / 1000) : null;
  const msg = Array.isArray(e.MESSAGE) ? new TextDecoder().decode(new Uint8Array(e.MESSAGE)) : (e.MESSAGE ?? '');
  const who = `${e.SYSLOG_IDENTIFIER ?? e._COMM ?? '?'}${e._PID ? `[${e._PID}]` : ''}`;
  const prio = Number(e.PRIORITY ?? 6);
  return h(
    'div',
    { class: `obt-journal-line${prio <= 3 ? ' obt-prio-err' : prio === 4 ? ' obt-prio-warn' : ''}` },
    h('span', { class: 'obt-journal-time' }, t ? t.toLocaleTimeString() : ''),
    h('span', { class: 'obt-journal-who' }, who),
    h('span', { class: 'obt-journal-msg' }, msg),
  );
}

/** A journal box for subhost NAME; stop() ends the journalctl behind it. */
export function journalView(name: string): { el: HTMLElement; stop: () => void } {
  const lines = h('div', { class: 'obt-journal', id: 'obt-journal', 'aria-live': 'polite' });
  const el = h(
    'div',
    {},
    lines,
    h(
      'a',
      {
        href: '#',
        id: 'obt-open-logs',
        class: 'pf-v6-c-button pf-m-link pf-m-inline',
        onclick: ((ev: Event) => {
          ev.preventDefault();
          cockpit.jump(`/system/logs/#/?prio=debug&service=subhost@${name}.service`);
        }) as EventListener,
      },
      'Open in Logs',
    ),
  );
  const units = [`subhost@${name}.service`, `subhost-netns@${name}.service`, `subhost-machine@${name}.service`];
  const proc = cockpit.spawn(
    ['journalctl', '--output=json', '--follow', '--lines=100', '--no-pager', ...units.flatMap((u) => ['--unit', u])],
    {
      superuser: 'try',
      err: 'message',
    },
  );
  let partial = '';
  proc.stream((chunk) => {
    lines.querySelector('.obt-journal-empty')?.remove();
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.trim()) continue;
      try {
        lines.append(lineOf(JSON.parse(p) as Entry));
      } catch {
        /* a line that is not JSON (cannot happen with --output=json) */
      }
    }
    while (lines.childElementCount > MAX_LINES) lines.firstElementChild?.remove();
    lines.scrollTop = lines.scrollHeight;
  });
  proc.catch((e: unknown) => {
    const m = (e as { message?: string; problem?: string }).message;
    if (m && (e as { problem?: string }).problem !== 'cancelled') lines.append(h('div', { class: 'obt-journal-line obt-prio-warn' }, m));
  });
  lines.append(h('div', { class: 'obt-journal-empty' }, 'No journal lines yet.'));
  return { el, stop: () => proc.close('cancelled') };
}
