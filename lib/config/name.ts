// The rules of a subhost NAME, without zod: fields.ts builds NameSchema
// from them, and `overlay-boot status`/`list` check names with
// nameProblem() alone (building the config schemas is a tenth of their
// start-up, and they never read a config's other variables).
//
// A NAME is used as a netns name (/run/netns/NAME), as the instance of
// subhost@NAME.service and as the prefix of host-side interface names.
// Only characters that need no escaping in a unit instance are allowed,
// so that %i is NAME verbatim. ('-' needs none in an instance; note that
// %I would turn it into '/', which is why the units use %i.)
export const NAME_MAX = 64;
export const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
export const NAME_MESSAGES = {
  empty: 'must not be empty',
  long: `must be at most ${NAME_MAX} characters`,
  chars: 'may contain only letters, digits, ".", "_" and "-", and must start with a letter, digit or "_"',
};

/** The first rule NAME breaks, in NameSchema's words and order; undefined for a good NAME. */
export function nameProblem(name: string): string | undefined {
  if (name.length < 1) return NAME_MESSAGES.empty;
  if (name.length > NAME_MAX) return NAME_MESSAGES.long;
  if (!NAME_RE.test(name)) return NAME_MESSAGES.chars;
  return undefined;
}
