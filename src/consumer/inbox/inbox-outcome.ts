/** applied: its effects committed; duplicate: applied before, nothing done; too-early: an earlier event of its aggregate is still missing. */
export type InboxOutcome = 'applied' | 'duplicate' | 'too-early';
