// overlay-diskfile: mount a disk image for a subhost being started (a config value helper) (cli/commands/diskfile.ts).
import { runMain } from '../lib/run-main.js';
import * as command from './commands/diskfile.js';

runMain('overlay-diskfile', command);
