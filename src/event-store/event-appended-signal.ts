import { Injectable } from '@nestjs/common';
import { Signal } from './sequencing/signal';

/**
 * Raised in this process when an append has committed (the writer outside a caller's
 * transaction; whoever commits a caller's transaction that appended: the idempotency
 * interceptor, a reaction batch), so this process's EventSequencer numbers it at once. Each API
 * process numbers its own appends; see EventSequencer for the others.
 */
@Injectable()
export class EventAppendedSignal extends Signal {}
