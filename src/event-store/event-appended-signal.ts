import { Injectable } from '@nestjs/common';
import { Signal } from './sequencing/signal';

/**
 * Raised in this process when an append has committed (by the AggregateWriter outside a caller's
 * transaction, by AppendedOnCommit at the commit of one), so this process's EventSequencer numbers
 * it at once. Each API process numbers its own appends; see EventSequencer for the others.
 */
@Injectable()
export class EventAppendedSignal extends Signal {}
