import { ConsumerSchema1763880200000 } from './1763880200000-ConsumerSchema';

/** The consumer app's own migrations, for its own database. */
export const consumerMigrations = [ConsumerSchema1763880200000];
