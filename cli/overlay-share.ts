// overlay-share: bind-mount a host directory into a running subhost (cli/commands/share.ts).
import { runMain } from '../lib/run-main.js';
import * as command from './commands/share.js';

runMain('overlay-share', command);
