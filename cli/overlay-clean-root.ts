// overlay-clean-root: remove from a stopped subhost's UPPER what LOWER has identically (cli/commands/clean-root.ts).
import { runMain } from '../lib/run-main.js';
import * as command from './commands/clean-root.js';

runMain('overlay-clean-root', command);
