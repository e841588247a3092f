/**
 * Something that must happen because an event was recorded: a saga stream turning it into
 * commands, or an event handler. `plan` decides (it may read committed state, outside the
 * reaction's transaction); the returned work makes the change inside that transaction.
 * Undefined: nothing to do for this event.
 */
export interface Reaction {
  readonly name: string;
  plan(event: object): Promise<(() => Promise<void>) | undefined>;
}
