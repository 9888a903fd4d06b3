/** An expected failure of the runtime: its message is the one line for the journal. */
export class RuntimeError extends Error {}
