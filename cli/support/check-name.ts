// A NAME given on the command line, on its own: status and list need
// nothing else of subhost.ts, whose imports build the config schemas.
import { nameProblem } from '../../lib/config/name.js';
import { Failure } from '../../lib/errors.js';

/** A NAME given on the command line, checked as the config schema checks NAME=. */
export function checkName(name: string): string {
  const problem = nameProblem(name);
  if (problem) throw new Failure(`"${name}" is not a subhost NAME: it ${problem}`);
  return name;
}
