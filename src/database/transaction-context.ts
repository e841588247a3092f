import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, ObjectLiteral, Repository } from 'typeorm';

/**
 * The transaction an outer unit of work opened, if any (an idempotent request records its
 * response in the same transaction as its effect). Repositories and the writer join it; without
 * one they work on the pool as usual.
 */
@Injectable()
export class TransactionContext {
  private readonly storage = new AsyncLocalStorage<EntityManager>();

  run<T>(transaction: EntityManager, work: () => Promise<T>): Promise<T> {
    return this.storage.run(transaction, work);
  }

  current(): EntityManager | undefined {
    return this.storage.getStore();
  }

  /** Where a statement goes: the current transaction when there is one, else `dataSource`'s pool. */
  queryable(dataSource: DataSource): Pick<DataSource, 'query'> {
    return this.current() ?? dataSource;
  }

  /** `repository`, bound to the current transaction when there is one. */
  repository<T extends ObjectLiteral>(repository: Repository<T>): Repository<T> {
    return this.current()?.getRepository(repository.target) ?? repository;
  }
}
