import type { QueryRunner } from 'typeorm';

const USER_PROFILES = 'projection:user-profiles';

/**
 * Refuses while a process of the version before `DropUserProfiles1765300100000` runs: every such
 * API process with projections on holds the `user-profiles` projection's membership lock
 * (SubscriptionLeases: pg_advisory_lock_shared(hashtext('<id>/<segments>'), segments)), and a
 * rebuild of it holds pg_advisory_lock(hashtext('projection-rebuild:user-profiles')). Taken here
 * with pg_try_advisory_xact_lock, they are held until the calling migration commits, so none of
 * those starts meanwhile. A process of that version with projections off is not seen: the upgrade
 * procedure (stop the previous version first) still applies.
 *
 * @throws Error naming what to stop, when another session holds either lock
 */
export async function refuseWhileUserProfilesRuns(db: QueryRunner, upgrade: string): Promise<void> {
  const held: Array<{ taken: boolean }> = await db.query(
    `SELECT pg_try_advisory_xact_lock(hashtext($1 || '/' || segments), segments) AS taken
     FROM (SELECT DISTINCT segments FROM subscription_checkpoints WHERE subscription_id = $1) AS c
     UNION ALL
     SELECT pg_try_advisory_xact_lock(hashtext('projection-rebuild:user-profiles'))`,
    [USER_PROFILES],
  );
  if (held.some(({ taken }) => !taken)) {
    throw new Error(
      `${USER_PROFILES} is running (or being rebuilt) in another session: stop the API processes ` +
        `of the previous version, and any rebuild of user-profiles, before ${upgrade}`,
    );
  }
}

const ORDER_FULFILMENT = 'reaction:order-fulfilment';

/**
 * Refuses while a process of the version before `OrderDeadlinesWithPlacement1765300300000` runs
 * the order-fulfilment saga: such a process holds the saga's membership lock (SubscriptionLeases,
 * as above), taken here until the calling migration commits. A process of this version takes it
 * only after its migrations ran, so whoever holds it now runs the previous version. One with
 * reactions off is not seen: the upgrade procedure (stop the previous version first) still applies.
 *
 * @throws Error naming what to stop, when another session holds the lock
 */
export async function refuseWhileOrderFulfilmentRuns(db: QueryRunner, upgrade: string): Promise<void> {
  const held: Array<{ taken: boolean }> = await db.query(
    `SELECT pg_try_advisory_xact_lock(hashtext($1 || '/' || segments), segments) AS taken
     FROM (SELECT DISTINCT segments FROM subscription_checkpoints WHERE subscription_id = $1) AS c`,
    [ORDER_FULFILMENT],
  );
  if (held.some(({ taken }) => !taken)) {
    throw new Error(`${ORDER_FULFILMENT} is running in another session: stop the API processes of the previous version before ${upgrade}`);
  }
}
