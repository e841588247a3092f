/**
 * The options of a command that npm kept as settings of its own instead of passing them on to
 * the script: `npm run migrate:api --check`, without `--` before the option, warns `Unknown cli
 * config "--check"`, sets `npm_config_check=true` in the script's environment and runs the script
 * without `--check`; a deploy step meant to check would migrate. Found in `environment` (what npm
 * passed the script): each of `options` (the command's own, without their dashes), a near miss of
 * one (a typo: `--chek`), and `--dry-run`, npm's own setting, which `npm run` ignores. As the
 * operator typed them, e.g. `['--check']`.
 *
 * No setting npm knows is a near miss of an option of the commands here (`cache` is 3 edits from
 * `check`, `shell` 2 from `help`), so npm's own settings, which npm passes on too, are never taken
 * for one.
 */
export function optionsNpmTook(environment: Readonly<Record<string, string | undefined>>, options: readonly string[]): string[] {
  return Object.keys(environment)
    .filter((key) => key.startsWith(NPM_SETTING) && environment[key] !== undefined)
    .map((key) => key.slice(NPM_SETTING.length).replace(/_/g, '-'))
    .filter((name) => name === 'dry-run' || options.some((option) => meantFor(name, option)))
    .map((name) => `--${name}`);
}

const NPM_SETTING = 'npm_config_';

/** `name` is `option` or a typo of it: one edit (a letter added, dropped or changed) away, two for an option longer than 4 letters. */
function meantFor(name: string, option: string): boolean {
  return editDistance(name, option) <= (option.length > 4 ? 2 : 1);
}

/** Levenshtein distance: the fewest letters added, dropped or changed that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
