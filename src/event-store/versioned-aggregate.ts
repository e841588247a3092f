import { AggregateRoot } from '@nestjs/cqrs';

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
