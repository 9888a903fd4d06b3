// overlay-stop NAME|CONF (1.6): stop a subhost through systemd.
import { runMain } from '../lib/cli-common.js';
import { stop, stopUsage } from './commands/stop.js';

runMain('overlay-stop', stopUsage('overlay-stop'), (argv) => stop(argv, 'overlay-stop'));
