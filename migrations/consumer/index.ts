import { ConsumerSchema1763880200000 } from './1763880200000-ConsumerSchema';
import { InboxAppliedAtIndex1765000000000 } from './1765000000000-InboxAppliedAtIndex';

/** The consumer app's own migrations, for its own database (run with migrationsTransactionMode 'each'). */
export const consumerMigrations = [ConsumerSchema1763880200000, InboxAppliedAtIndex1765000000000];
