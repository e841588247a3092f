import type { QueryRunner } from 'typeorm';

const USER_PROFILES = 'projection:user-profiles';
const ORDER_FULFILMENT = 'reaction:order-fulfilment';

/**
 * Takes, until the calling migration commits, every membership lock of `subscriptionId` a running
 * process would hold (SubscriptionLeases: pg_advisory_lock_shared(hashtext('<id>/<segments>'),
 * segments), for each segment count its checkpoints record), and the extra transaction-level
 * advisory keys of `alsoKeys` (hashtext of each). False when another session holds any of them.
 * Taken with pg_try_advisory_xact_lock, so none of those processes starts meanwhile.
 */
async function takeSubscriptionLocks(db: QueryRunner, subscriptionId: string, alsoKeys: readonly string[] = []): Promise<boolean> {
  const held: Array<{ taken: boolean }> = await db.query(
    `SELECT pg_try_advisory_xact_lock(hashtext($1 || '/' || segments), segments) AS taken
     FROM (SELECT DISTINCT segments FROM subscription_checkpoints WHERE subscription_id = $1) AS c
     UNION ALL
     SELECT pg_try_advisory_xact_lock(hashtext(key)) FROM unnest($2::text[]) AS key`,
    [subscriptionId, alsoKeys],
  );
  return held.every(({ taken }) => taken);
}

/**
 * Refuses while a process of the version before `DropUserProfiles1765300100000` runs: every such
 * API process with projections on holds the `user-profiles` projection's membership lock, and a
 * rebuild of it holds pg_advisory_lock(hashtext('projection-rebuild:user-profiles')); both are
 * held here until the calling migration commits. A process of that version with projections off
 * is not seen: the upgrade procedure (stop the previous version first) still applies.
 *
 * @throws Error naming what to stop, when another session holds either lock
 */
export async function refuseWhileUserProfilesRuns(db: QueryRunner, upgrade: string): Promise<void> {
  if (!(await takeSubscriptionLocks(db, USER_PROFILES, ['projection-rebuild:user-profiles']))) {
    throw new Error(
      `${USER_PROFILES} is running (or being rebuilt) in another session: stop the API processes ` +
        `of the previous version, and any rebuild of user-profiles, before ${upgrade}`,
    );
  }
}

/**
 * Refuses while a process of the version before `OrderDeadlinesWithPlacement1765300300000` runs
 * the order-fulfilment saga: such a process holds the saga's membership lock, held here until the
 * calling migration commits. A process of this version takes it only after its migrations ran, so
 * whoever holds it now runs the previous version. One with reactions off is not seen: the upgrade
 * procedure (stop the previous version first) still applies.
 *
 * @throws Error naming what to stop, when another session holds the lock
 */
export async function refuseWhileOrderFulfilmentRuns(db: QueryRunner, upgrade: string): Promise<void> {
  if (!(await takeSubscriptionLocks(db, ORDER_FULFILMENT))) {
    throw new Error(`${ORDER_FULFILMENT} is running in another session: stop the API processes of the previous version before ${upgrade}`);
  }
}
