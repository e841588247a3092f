import { Injectable } from '@nestjs/common';
import { Signal } from './sequencing/signal';

/**
 * Raised in this process when an append has committed (the writer outside a caller's
 * transaction, a reaction batch that appended), so this process's EventSequencer numbers it at
 * once. Appends of other processes, or inside a caller's transaction, reach the sequencer through
 * the `events_appended` NOTIFY that the events table's trigger sends at commit.
 */
@Injectable()
export class EventAppendedSignal extends Signal {}
