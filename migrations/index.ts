import { InitialSchema1763880000000 } from './1763880000000-InitialSchema';

/** Every migration, in order. Listed by class so that builds, tests and the CLI load the same set. */
export const migrations = [InitialSchema1763880000000];
