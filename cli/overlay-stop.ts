// overlay-stop NAME|CONF (1.6): stop a subhost through systemd (cli/commands/stop.ts).
import { runMain } from '../lib/run-main.js';
import { stop, stopUsage } from './commands/stop.js';

runMain('overlay-stop', { usage: stopUsage('overlay-stop'), run: (argv) => stop(argv, 'overlay-stop') });
