import leven from 'leven';

/** Shorter names are left alone: `PORT`, `HOST`, `HOME` and `PATH` are too near each other to tell a typo. */
const MIN_NAME_LENGTH = 8;
/** Edits (Levenshtein distance) between a variable and a setting for the variable to be taken for a misspelling of it. */
const MAX_EDITS = 2;

/**
 * Variables of `environment` that are no setting of the app but within two edits of one
 * (`DATABSE_URL`, `RELAY_BATCH_SIZ`): each as a warning naming the setting it was likely meant to
 * be, which is left at its default. A misspelt DATABASE_URL otherwise starts the app on the
 * default database, which on shared servers may be someone else's. `settings`: the names the app
 * reads (its environment schema's keys).
 */
export function misspelledSettings(environment: Record<string, string | undefined>, settings: readonly string[]): string[] {
  const known = new Set(settings);
  const warnings: string[] = [];
  for (const name of Object.keys(environment)) {
    if (known.has(name) || name.length < MIN_NAME_LENGTH) continue;
    const meant = settings.find((setting) => setting.length >= MIN_NAME_LENGTH && leven(name, setting) <= MAX_EDITS);
    if (meant) warnings.push(`${name} is set, but it is no setting of this app: did you mean ${meant}? (${meant} is left at ${environment[meant] === undefined ? 'its default' : 'its own value'})`);
  }
  return warnings;
}
