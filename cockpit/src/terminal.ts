// A terminal inside a running subhost: overlay-go NAME (a shell restricted
// exactly as the subhost's own processes) on a pseudo-terminal of Cockpit's
// bridge, as root through the administrative access (or as the user, whom
// overlay-go's pkexec re-run asks polkit for), shown with xterm.js
// (as Cockpit's own terminal page does).
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { OVERLAY_GO } from './model.js';

export function terminalView(name: string, into: HTMLElement): { stop: () => void } {
  const term = new Terminal({ convertEol: false, fontSize: 14, rows: 20, cols: 100, scrollback: 1000 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(into);
  try {
    fit.fit();
  } catch {
    /* not laid out yet: the default size */
  }
  const channel = cockpit.channel({
    payload: 'stream',
    spawn: [OVERLAY_GO, name],
    pty: true,
    superuser: 'try',
    environ: ['TERM=xterm-256color'],
    window: { rows: term.rows, cols: term.cols },
  });
  channel.addEventListener('message', (_ev, data) => term.write(data));
  channel.addEventListener('close', (_ev, options) => {
    term.write(`\r\n[overlay-go ${name} ended${options.problem ? `: ${options.message ?? options.problem}` : ''}]\r\n`);
  });
  term.onData((d) => channel.send(d));
  term.onResize(({ rows, cols }) => channel.control({ window: { rows, cols } }));
  const onResize = () => {
    try {
      fit.fit();
    } catch {
      /* hidden */
    }
  };
  window.addEventListener('resize', onResize);
  term.focus();
  return {
    stop: () => {
      window.removeEventListener('resize', onResize);
      channel.close();
      term.dispose();
    },
  };
}
