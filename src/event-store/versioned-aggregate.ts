import { AggregateRoot } from '@nestjs/cqrs';
import { VersionMismatchError } from '../shared/domain-error';

/**
 * An aggregate whose state lives in its own table row and whose changes are recorded as events
 * in the same transaction. `version` is the stream version the row was loaded at; every new
 * event takes the next one.
 */
export abstract class VersionedAggregate<TEvent extends object = object> extends AggregateRoot<TEvent> {
  abstract readonly id: string;
  private persistedVersion = 0;

  get version(): number {
    return this.persistedVersion;
  }

  /**
   * Refuses to go on unless the aggregate is at `expected` (when given): a command based on a
   * version its caller read (`If-Match`). Checked on the loaded aggregate, whose version the save
   * then requires (`UPDATE … WHERE version = $n`), so a change that commits between the load and
   * the save fails the save, and the command's retry meets this check again.
   */
  expectVersion(expected: number | undefined): void {
    if (expected !== undefined && expected !== this.persistedVersion) {
      throw new VersionMismatchError(this.id, expected, this.persistedVersion);
    }
  }

  /** Called by repositories when they hydrate the aggregate from its row. */
  protected restoreVersion(version: number): void {
    this.persistedVersion = version;
  }

  /** Called by the writer once the row and the events committed. */
  markPersisted(): void {
    this.persistedVersion += this.getUncommittedEvents().length;
    this.uncommit();
  }
}
