/** Headers the consumer keeps on a message it retries or parks; the dead-letter tools (src/messaging/dead-letters) read them. */
export const ATTEMPTS_HEADER = 'x-attempts';
export const REORDER_WAITS_HEADER = 'x-reorder-waits';
export const LAST_ERROR_HEADER = 'x-last-error';
export const ORIGINAL_ROUTING_KEY_HEADER = 'x-original-routing-key';
export const DEAD_LETTERED_AT_HEADER = 'x-dead-lettered-at';
