// A few lines of DOM building, so the views read as the markup they make
// (PatternFly's CSS classes): h('button', { class: 'pf-v6-c-button' }, 'Start').

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | boolean | number | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

/** A PatternFly button; `variant` primary, secondary, danger, link, plain. */
export function button(label: string, variant: string, onclick: () => void, attrs: Attrs = {}): HTMLButtonElement {
  return h(
    'button',
    { class: `pf-v6-c-button pf-m-${variant}`, type: 'button', onclick: onclick as EventListener, ...attrs },
    h('span', { class: 'pf-v6-c-button__text' }, label),
  );
}

/** A PatternFly label (a coloured state badge). */
export function label(text: string, color: string, attrs: Attrs = {}): HTMLSpanElement {
  return h(
    'span',
    { ...attrs, class: `pf-v6-c-label pf-m-${color} pf-m-compact ${attrs.class ?? ''}` },
    h('span', { class: 'pf-v6-c-label__content' }, h('span', { class: 'pf-v6-c-label__text' }, text)),
  );
}

/** A PatternFly inline alert of one title line (and optional more lines). */
export function alert(kind: 'info' | 'warning' | 'danger' | 'success', title: string, attrs: Attrs = {}, ...more: Child[]): HTMLDivElement {
  return h(
    'div',
    { class: `pf-v6-c-alert pf-m-inline pf-m-plain pf-m-${kind}`, ...attrs },
    h('p', { class: 'pf-v6-c-alert__title' }, title),
    more.length ? h('div', { class: 'pf-v6-c-alert__description' }, ...more) : null,
  );
}

/** A horizontal PatternFly description list of [term, value] pairs. */
export function descriptionList(rows: [string, Child | Child[]][], attrs: Attrs = {}): HTMLDListElement {
  return h(
    'dl',
    { class: 'pf-v6-c-description-list pf-m-horizontal pf-m-compact', ...attrs },
    rows.map(([term, value]) =>
      h(
        'div',
        { class: 'pf-v6-c-description-list__group' },
        h('dt', { class: 'pf-v6-c-description-list__term' }, h('span', { class: 'pf-v6-c-description-list__text' }, term)),
        h('dd', { class: 'pf-v6-c-description-list__description' }, h('div', { class: 'pf-v6-c-description-list__text' }, value)),
      ),
    ),
  );
}

/** A PatternFly card with a title. */
export function card(title: string | null, attrs: Attrs, ...body: Child[]): HTMLDivElement {
  return h(
    'div',
    { class: 'pf-v6-c-card', ...attrs },
    title ? h('div', { class: 'pf-v6-c-card__title' }, h('h2', { class: 'pf-v6-c-card__title-text' }, title)) : null,
    h('div', { class: 'pf-v6-c-card__body' }, ...body),
  );
}

/** The trail above a view: a link back to the list of subhosts, then where we are. */
export function breadcrumb(here: string): HTMLElement {
  return h(
    'nav',
    { class: 'obt-breadcrumb' },
    h(
      'a',
      {
        href: '#/',
        onclick: ((ev: Event) => {
          ev.preventDefault();
          cockpit.location.go([]);
        }) as EventListener,
      },
      'Subhosts',
    ),
    ` › ${here}`,
  );
}
