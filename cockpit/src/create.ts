// The "create subhost" form: the options of `overlay-boot create`, checked
// by `overlay-boot create --dry-run` as they are typed (the command's own
// messages: check's lines, a taken NAME, an existing BASE), and made by
// `overlay-boot create` itself as root.
import { h, button, card, breadcrumb } from './dom.js';
import { OVERLAY_BOOT } from './model.js';
import { asAdmin, messageOf } from './actions.js';

interface Field {
  option: string;
  label: string;
  help: string;
  /** Several values, one per word (cables) or one per line (shares). */
  split?: 'words' | 'lines';
  choices?: string[];
  advanced?: boolean;
}

const FIELDS: Field[] = [
  { option: '--base', label: 'Directory (BASE)', help: 'default /var/lib/subhosts/NAME' },
  { option: '--lower', label: 'LOWER', help: 'the tree under the overlay; default /, the host root' },
  {
    option: '--cable',
    label: 'Cables',
    help: 'CABLES entries, separated by blanks: [bridge]=[mac|.vlan]; "=" is one veth to the host',
    split: 'words',
  },
  { option: '--start', label: 'Services (START)', help: 'default "networking ssh"; "none": no services' },
  { option: '--ram-size', label: 'RAM_SIZE', help: 'the tmpfs for /run and /tmp; default 50M' },
  { option: '--share', label: 'Shared directories', help: 'one SHARE per line: DIR[:PATH]', split: 'lines' },
  {
    option: '--containment',
    label: 'Containment',
    help: 'contained (default) or none: root inside is root on the host',
    choices: ['', 'contained', 'none'],
  },
  { option: '--journal', label: 'Journal', help: '/dev/log reaches the host journal (default yes)', choices: ['', 'yes', 'no'] },
  { option: '--after', label: 'AFTER', help: 'subhosts to start after', advanced: true },
  { option: '--requires', label: 'REQUIRES', help: 'subhosts it needs', advanced: true },
  { option: '--memory-max', label: 'MEMORY_MAX', help: 'systemd MemoryMax=', advanced: true },
  { option: '--memory-high', label: 'MEMORY_HIGH', help: 'systemd MemoryHigh=', advanced: true },
  { option: '--cpu-quota', label: 'CPU_QUOTA', help: 'systemd CPUQuota=, e.g. 50%', advanced: true },
  { option: '--cpu-weight', label: 'CPU_WEIGHT', help: 'systemd CPUWeight=', advanced: true },
  { option: '--io-weight', label: 'IO_WEIGHT', help: 'systemd IOWeight=', advanced: true },
  { option: '--tasks-max', label: 'TASKS_MAX', help: 'systemd TasksMax=', advanced: true },
  { option: '--timeout-start', label: 'TIMEOUT_START', help: 'seconds', advanced: true },
  { option: '--timeout-stop', label: 'TIMEOUT_STOP', help: 'seconds', advanced: true },
];

const idOf = (option: string) => `obt-create${option.replace(/^-+/, '-')}`;

function group(labelText: string, id: string, control: HTMLElement, help: string): HTMLElement {
  return h(
    'div',
    { class: 'pf-v6-c-form__group' },
    h(
      'div',
      { class: 'pf-v6-c-form__group-label' },
      h('label', { class: 'pf-v6-c-form__label', for: id }, h('span', { class: 'pf-v6-c-form__label-text' }, labelText)),
    ),
    h(
      'div',
      { class: 'pf-v6-c-form__group-control' },
      h('span', { class: `pf-v6-c-form-control${control.tagName === 'SELECT' ? ' pf-m-select' : ''}` }, control),
      h(
        'div',
        { class: 'pf-v6-c-helper-text' },
        h('div', { class: 'pf-v6-c-helper-text__item' }, h('span', { class: 'pf-v6-c-helper-text__item-text' }, help)),
      ),
    ),
  );
}

export function createView(admin: boolean, notices: HTMLElement[], made: (name: string) => void): HTMLElement {
  const controls = new Map<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>();
  const nameInput = h('input', { type: 'text', id: 'obt-create-name', required: true, placeholder: 'NAME' });
  const enableBox = h('input', { type: 'checkbox', class: 'pf-v6-c-check__input', id: 'obt-create-enable' });
  const nowBox = h('input', { type: 'checkbox', class: 'pf-v6-c-check__input', id: 'obt-create-now', checked: true });
  const result = h('div', { id: 'obt-create-result', 'aria-live': 'polite' });
  const submit = button('Create', 'primary', () => void create(), { id: 'obt-create-submit', disabled: true });

  const groups = (advanced: boolean) =>
    FIELDS.filter((f) => !!f.advanced === advanced).map((f) => {
      const id = idOf(f.option);
      const control = f.choices
        ? h(
            'select',
            { id },
            f.choices.map((c) => h('option', { value: c }, c || '(default)')),
          )
        : f.split === 'lines'
          ? h('textarea', { id, rows: 2 })
          : h('input', { type: 'text', id });
      controls.set(f.option, control);
      return group(f.label, id, control, f.help);
    });

  /** The command line of the form as it is now (without --dry-run/--enable/--now). */
  function argv(): string[] {
    const out = [OVERLAY_BOOT, 'create'];
    for (const f of FIELDS) {
      const v = controls.get(f.option)!.value.trim();
      if (!v) continue;
      const values =
        f.split === 'words'
          ? v.split(/\s+/)
          : f.split === 'lines'
            ? v
                .split('\n')
                .map((x) => x.trim())
                .filter(Boolean)
            : [v];
      for (const x of values) out.push(f.option, x);
    }
    return [...out, nameInput.value.trim()];
  }

  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let valid = false;
  const problems = (text: string) =>
    h(
      'div',
      { class: 'obt-problems', id: 'obt-create-problems', role: 'alert' },
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => h('div', {}, l)),
    );

  /** Check the form with the command itself: `create --dry-run` makes nothing and prints the config. */
  async function validate(): Promise<void> {
    const mine = ++seq;
    valid = false;
    submit.disabled = true;
    if (!nameInput.value.trim()) {
      result.replaceChildren(problems('create needs a NAME'));
      return;
    }
    const args = argv();
    args.splice(2, 0, '--dry-run');
    try {
      const text = await cockpit.spawn(args, { superuser: 'try', err: 'message' });
      if (mine !== seq) return;
      valid = true;
      result.replaceChildren(
        h('p', { class: 'obt-valid' }, 'Valid; the config will be:'),
        h('pre', { class: 'obt-pre', id: 'obt-create-preview' }, text),
      );
    } catch (e) {
      if (mine !== seq) return;
      result.replaceChildren(problems(messageOf(e)));
    }
    submit.disabled = !valid || !admin;
  }
  const changed = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void validate(), 300);
  };

  async function create(): Promise<void> {
    const name = nameInput.value.trim();
    const args = argv();
    args.splice(2, 0, ...(enableBox.checked ? ['--enable'] : []), ...(nowBox.checked ? ['--now'] : []));
    submit.disabled = true;
    result.replaceChildren(h('p', {}, `Creating ${name}…`));
    try {
      await asAdmin(args);
      made(name);
    } catch (e) {
      result.replaceChildren(problems(messageOf(e)));
      submit.disabled = false;
    }
  }

  const form = h(
    'form',
    {
      class: 'pf-v6-c-form pf-m-horizontal',
      id: 'obt-create-form',
      novalidate: true,
      oninput: changed as EventListener,
      onchange: changed as EventListener,
      onsubmit: ((ev: Event) => ev.preventDefault()) as EventListener,
    },
    group('Name', 'obt-create-name', nameInput, 'the subhost NAME (its unit: subhost@NAME.service)'),
    groups(false),
    h('details', {}, h('summary', {}, 'Ordering and resources'), groups(true)),
    h(
      'div',
      { class: 'pf-v6-c-form__group' },
      h(
        'label',
        { class: 'pf-v6-c-check' },
        enableBox,
        h('span', { class: 'pf-v6-c-check__label' }, 'Start at boot (--enable: list it in /etc/subhosts.conf)'),
      ),
      h('label', { class: 'pf-v6-c-check' }, nowBox, h('span', { class: 'pf-v6-c-check__label' }, 'Start now (--now)')),
    ),
    h(
      'div',
      { class: 'pf-v6-c-form__actions obt-buttons' },
      submit,
      button('Cancel', 'link', () => cockpit.location.go([])),
    ),
  );
  return h(
    'div',
    {},
    breadcrumb('Create'),
    h('div', { class: 'obt-header' }, h('h1', { class: 'pf-v6-c-title pf-m-xl' }, 'Create subhost')),
    notices,
    // The command's verdict beside the fields: its message, or the config it would write.
    h('div', { class: 'obt-create' }, card(null, {}, form), card('overlay-boot create --dry-run', { id: 'obt-create-check' }, result)),
  );
}
