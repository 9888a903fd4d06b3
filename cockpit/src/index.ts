// The Subhosts page: the list (#/), one subhost (#/NAME) and the create
// form (#/+create). Rendered from the model (model.ts) on every change;
// a subhost's journal and terminal are made once per visit and kept.
import '../overlay-boot.css';
import { h, button, label, alert, descriptionList, card, breadcrumb } from './dom.js';
import { bytes, cpu, since } from './format.js';
import { Model, enabledAtBoot, isRunning, OVERLAY_BOOT, type Subhost } from './model.js';
import * as act from './actions.js';
import { journalView } from './journal.js';
import { terminalView } from './terminal.js';
import { createView } from './create.js';

const model = new Model();
const permission = cockpit.permission({ admin: true });
const app = document.getElementById('app')!;

/** Why this user sees no buttons: one line. */
export const READ_ONLY =
  'Read-only: starting, stopping, creating, removing and entering subhosts needs administrative access; turn it on with "Limited access" at the top (as a user polkit lets administer this machine).';
/** What a user that polkit lets manage subhosts (without administrative access) cannot do: one line. */
export const POLKIT_ONLY =
  'Managing subhosts as allowed by polkit; creating and removing them needs administrative access ("Limited access" at the top).';

/** Root through Cockpit's administrative access: everything, create and remove too. */
const admin = (): boolean => permission.allowed === true;
/**
 * Polkit lets this user manage subhosts as themselves (the project's
 * actions, as the example rule grants a group): the commands' own pkexec
 * re-run and systemd's manage-units then work without administrative access.
 */
let polkitManages = false;
const manages = (): boolean => admin() || polkitManages;

/** Ask polkit (pkcheck, no prompt) whether this user may start subhosts from their configs. */
let polkitAsked = false;
function checkPolkit(): void {
  if (permission.allowed !== false || polkitAsked) return;
  polkitAsked = true;
  cockpit
    .spawn(['sh', '-c', 'exec pkcheck --action-id org.overlay-boot.manage --process $$'], { err: 'ignore' })
    .then(() => {
      polkitManages = true;
      shown = null;
      render();
    })
    .catch(() => {});
}

/** The failure of the last action, shown above the content until the next one. */
let notice: { title: string; text: string } | null = null;
/** Subhosts with an action under way (their buttons are disabled). */
const busy = new Set<string>();

async function action(s: Subhost, what: string, run: () => Promise<unknown>): Promise<void> {
  busy.add(s.name);
  notice = null;
  render();
  try {
    await run();
  } catch (e) {
    notice = { title: `${what} ${s.name} failed`, text: act.messageOf(e) };
  } finally {
    busy.delete(s.name);
    await model.refresh();
    render();
  }
}

const STATE_COLORS: Record<string, string> = {
  active: 'green',
  failed: 'red',
  activating: 'blue',
  deactivating: 'orange',
  reloading: 'blue',
};
const stateLabel = (s: Subhost) =>
  label(s.state === 'active' ? 'running' : s.state === 'inactive' ? 'stopped' : s.state, STATE_COLORS[s.state] ?? 'grey', {
    'data-state': s.state,
    class: 'obt-state',
  });

/** The addresses inside (IPv6 link-local ones only on the subhost's own view). */
function addresses(s: Subhost, all = false): HTMLElement {
  const shown = s.addresses.filter((a) => all || !a.address.startsWith('fe80:'));
  const list = shown.map((a) => h('div', { class: 'obt-address' }, `${a.address}${a.ifname ? ` (${a.ifname})` : ''}`));
  return h('div', { class: 'obt-addresses' }, list.length ? list : isRunning(s) ? '—' : '');
}

function cables(s: Subhost): string {
  const c = s.checked?.config?.CABLES ?? [];
  if (!c.length) return s.checked ? 'no cable' : '';
  return c
    .map((x) => `${x.hostIf ?? '?'}${x.bridge ? ` in ${x.bridge}` : ''} ↔ ${x.peerIf ?? '?'}${x.vlan ? `.${x.vlan}` : ''}`)
    .join(', ');
}

function startStop(s: Subhost): HTMLElement[] {
  const off = busy.has(s.name) || !manages();
  return isRunning(s) || s.state === 'activating'
    ? [button('Stop', 'secondary', () => void action(s, 'Stopping', () => act.stop(s)), { disabled: off, 'data-action': 'stop' })]
    : [button('Start', 'primary', () => void action(s, 'Starting', () => act.start(s)), { disabled: off, 'data-action': 'start' })];
}

function header(title: (string | HTMLElement)[], buttons: HTMLElement[]): HTMLElement {
  return h(
    'div',
    { class: 'obt-header' },
    h('h1', { class: 'pf-v6-c-title pf-m-xl' }, ...title),
    h('div', { class: 'obt-buttons' }, buttons),
  );
}

function notices(): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (permission.allowed === false)
    out.push(polkitManages ? alert('info', POLKIT_ONLY, { id: 'obt-polkit-only' }) : alert('info', READ_ONLY, { id: 'obt-read-only' }));
  if (notice) out.push(alert('danger', notice.title, { id: 'obt-notice' }, h('pre', { class: 'obt-pre' }, notice.text)));
  return out;
}

function listView(): HTMLElement {
  const rows = [...model.subhosts.values()];
  const table = h(
    'table',
    { class: 'pf-v6-c-table pf-m-compact', id: 'obt-subhosts', 'aria-label': 'Subhosts' },
    h(
      'thead',
      { class: 'pf-v6-c-table__thead' },
      h(
        'tr',
        { class: 'pf-v6-c-table__tr' },
        ['Name', 'State, since', 'Addresses and cables', 'LOWER → UPPER (size)', 'Containment', 'CPU, memory', 'At boot', ''].map((t) =>
          h('th', { class: 'pf-v6-c-table__th', scope: 'col' }, t),
        ),
      ),
    ),
    h(
      'tbody',
      { class: 'pf-v6-c-table__tbody' },
      rows.map((s) => {
        const c = s.checked?.config;
        const td = (lbl: string, ...kids: (string | HTMLElement | HTMLElement[])[]) =>
          h('td', { class: 'pf-v6-c-table__td', 'data-label': lbl }, ...kids);
        return h(
          'tr',
          { class: 'pf-v6-c-table__tr', 'data-subhost': s.name },
          td(
            'Name',
            h(
              'a',
              {
                href: `#/${encodeURIComponent(s.name)}`,
                class: 'obt-name',
                onclick: ((ev: Event) => {
                  ev.preventDefault();
                  cockpit.location.go([s.name]);
                }) as EventListener,
              },
              s.name,
            ),
          ),
          td('State, since', stateLabel(s), h('div', { class: 'obt-since obt-subtle' }, since(s.since))),
          td('Addresses and cables', addresses(s), h('div', { class: 'obt-cables obt-subtle' }, cables(s))),
          td(
            'LOWER → UPPER (size)',
            h('div', { class: 'obt-root' }, c ? `${c.LOWER} → ${c.UPPER}` : ''),
            h('div', { class: 'obt-upper-size obt-subtle' }, s.upperBytes === undefined ? '' : bytes(s.upperBytes)),
          ),
          td('Containment', h('span', { class: 'obt-containment' }, c?.CONTAINMENT ?? '')),
          td('CPU, memory', isRunning(s) ? `${cpu(s.cpuNsec)}, ${bytes(s.memory)}` : ''),
          td('At boot', enabledAtBoot(s) ? 'enabled' : 'no'),
          td('', manages() ? startStop(s) : []),
        );
      }),
    ),
  );
  const body = !model.loaded
    ? h('p', {}, 'Loading…')
    : model.error
      ? alert('danger', 'overlay-boot list failed', {}, h('pre', { class: 'obt-pre' }, model.error))
      : rows.length
        ? h('div', { class: 'obt-table-scroll' }, table)
        : h('div', { class: 'pf-v6-c-empty-state' }, h('p', {}, 'No subhosts yet.'));
  return h(
    'div',
    {},
    header(
      ['Subhosts'],
      admin() ? [button('Create subhost', 'primary', () => cockpit.location.go(['+create']), { id: 'obt-create' })] : [],
    ),
    notices(),
    card(null, {}, body),
  );
}

/** The parts of a subhost's page that live as long as the visit (journal, terminal, config text). */
interface Visit {
  name: string;
  root: HTMLElement;
  info: HTMLElement;
  journal: { el: HTMLElement; stop: () => void };
  terminal: HTMLElement;
  term: { stop: () => void } | null;
  configPre: HTMLElement;
  removing: boolean;
}
let visit: Visit | null = null;

function endVisit(): void {
  visit?.journal.stop();
  visit?.term?.stop();
  visit = null;
}

function detailsInfo(v: Visit, s: Subhost | undefined): HTMLElement {
  if (!s) return h('div', {}, header([v.name], []), alert('warning', `No subhost ${v.name} (any more).`));
  const c = s.checked?.config;
  const off = busy.has(s.name) || !manages();
  const buttons = manages()
    ? [
        ...startStop(s),
        button('Restart', 'secondary', () => void action(s, 'Restarting', () => act.restart(s)), {
          disabled: off || !isRunning(s),
          'data-action': 'restart',
        }),
        enabledAtBoot(s)
          ? button('Disable at boot', 'secondary', () => void action(s, 'Disabling', () => act.disable(s)), {
              disabled: off,
              'data-action': 'disable',
            })
          : button('Enable at boot', 'secondary', () => void action(s, 'Enabling', () => act.enable(s)), {
              disabled: off || !s.config,
              'data-action': 'enable',
            }),
        button('Terminal', 'secondary', () => openTerminal(v), {
          disabled: off || !isRunning(s) || v.term !== null,
          'data-action': 'terminal',
        }),
        admin() &&
          button(
            'Remove…',
            'danger',
            () => {
              v.removing = true;
              render();
            },
            { disabled: off, 'data-action': 'remove' },
          ),
      ].filter((b): b is HTMLButtonElement => b !== false)
    : [];
  const removeBox = v.removing
    ? card(
        `Remove subhost ${s.name}?`,
        { id: 'obt-remove' },
        h(
          'p',
          {},
          `Stops it, takes it out of /etc/subhosts.conf and deletes its config and empty directories. UPPER (${c?.UPPER ?? 'BASE/root'}) is kept unless you tick the box.`,
        ),
        h(
          'label',
          { class: 'pf-v6-c-check' },
          h('input', { type: 'checkbox', class: 'pf-v6-c-check__input', id: 'obt-purge' }),
          h('span', { class: 'pf-v6-c-check__label' }, 'also delete what it wrote (UPPER): --purge'),
        ),
        h(
          'div',
          { class: 'obt-buttons' },
          button(
            'Remove',
            'danger',
            () => {
              const purge = (document.getElementById('obt-purge') as HTMLInputElement).checked;
              v.removing = false;
              void action(s, 'Removing', () => act.remove(s, purge)).then(() => cockpit.location.go([]));
            },
            { 'data-action': 'remove-confirm' },
          ),
          button('Cancel', 'link', () => {
            v.removing = false;
            render();
          }),
        ),
      )
    : null;
  return h(
    'div',
    {},
    breadcrumb(s.name),
    header([s.name, ' ', stateLabel(s)], buttons),
    notices(),
    removeBox,
    card(
      'Overview',
      { id: 'obt-overview' },
      descriptionList([
        ['State', `${s.state} (${s.subState})${s.result && s.result !== 'success' ? `, result ${s.result}` : ''}`],
        ['Since', s.since ? `${since(s.since)} (${new Date(s.since).toLocaleString()})` : '—'],
        ['Main PID', s.mainPid ? String(s.mainPid) : '—'],
        ['Addresses', addresses(s, true)],
        ['Cables', cables(s) || '—'],
        ['LOWER', c?.LOWER ?? '—'],
        ['UPPER', c ? `${c.UPPER} (${s.upperBytes === undefined ? '…' : bytes(s.upperBytes)})` : '—'],
        ['Containment', c?.CONTAINMENT ?? '—'],
        ['Services (START)', c ? c.START.join(' ') || 'none' : '—'],
        ['CPU', isRunning(s) ? cpu(s.cpuNsec) : '—'],
        ['Memory', isRunning(s) ? bytes(s.memory) : '—'],
        ['Tasks', isRunning(s) && s.tasks !== null ? String(s.tasks) : '—'],
        ['Config', s.config ? `${s.config} (${s.configFrom ?? ''})` : '—'],
        ['At boot', enabledAtBoot(s) ? 'enabled (listed in /etc/subhosts.conf)' : 'not enabled'],
      ]),
    ),
  );
}

function openTerminal(v: Visit): void {
  if (v.term) return;
  v.terminal.hidden = false;
  v.term = terminalView(v.name, v.terminal.querySelector('.obt-terminal')!);
  // xterm.js draws only while it is in view.
  v.terminal.scrollIntoView();
  render();
}

function detailsView(name: string): HTMLElement {
  if (!visit || visit.name !== name) {
    endVisit();
    const configPre = h('pre', { class: 'obt-pre', id: 'obt-config' }, '…');
    const terminal = card('Terminal', { id: 'obt-terminal-card' }, h('div', { class: 'obt-terminal', id: 'obt-terminal' }));
    terminal.hidden = true;
    const v: Visit = { name, root: h('div'), info: h('div'), journal: journalView(name), terminal, term: null, configPre, removing: false };
    v.root.append(
      v.info,
      terminal,
      card('Journal', { id: 'obt-journal-card' }, v.journal.el),
      card(`Config (${OVERLAY_BOOT} check)`, {}, configPre),
    );
    visit = v;
  }
  const v = visit;
  const s = model.subhosts.get(name);
  if (s?.config && v.configPre.textContent === '…') void act.checkText(s.config).then((t) => (v.configPre.textContent = t));
  const info = detailsInfo(v, s);
  v.info.replaceWith(info);
  v.info = info;
  return v.root;
}

let shown: HTMLElement | null = null;
function render(): void {
  const path = cockpit.location.path;
  let el: HTMLElement;
  if (path[0] === '+create') {
    endVisit();
    el = createView(admin(), notices(), (name) => {
      void model.refresh();
      cockpit.location.go([name]);
    });
  } else if (path[0]) el = detailsView(path[0]);
  else {
    endVisit();
    el = listView();
  }
  if (shown !== el) {
    app.replaceChildren(el);
    shown = el;
  }
}

// The create form keeps its own state: it is made again only on navigation.
let lastPath = '';
function navigate(): void {
  const p = cockpit.location.path.join('/');
  if (p !== lastPath) shown = null;
  lastPath = p;
  render();
}

model.onChange(() => {
  if (cockpit.location.path[0] !== '+create') render();
});
permission.addEventListener('changed', () => {
  checkPolkit();
  shown = null;
  render();
});
cockpit.addEventListener('locationchanged', navigate);
model.start();
navigate();
checkPolkit();
