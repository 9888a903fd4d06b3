// overlay-go: a shell or a command inside a running subhost (cli/commands/go.ts).
import { runMain } from '../lib/run-main.js';
import * as command from './commands/go.js';

runMain('overlay-go', command);
