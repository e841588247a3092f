import { getMetadataStorage } from 'class-validator';

type Storage = ReturnType<typeof getMetadataStorage>;
type Rules = ReturnType<Storage['getTargetValidationMetadatas']>;
type RulesByProperty = ReturnType<Storage['groupByPropertyName']>;

let cached = false;

/**
 * Makes class-validator remember the rules of each class it validates. It looks them up anew on
 * every object it validates (a body, and each of its nested objects): it filters the rules of the
 * class, walks the rules of every class the process has decorated to find inherited ones, and
 * groups the result by property: 0.05–0.1 ms of the API's CPU per POST /orders (README, "Where the
 * time goes"). A class's rules only change while decorators run: the cache is emptied whenever a
 * rule is added. Validation with groups is not cached (none of ours uses them). The arrays and
 * objects handed out are shared between calls; class-validator only reads them. Upstream:
 * typestack/class-validator#2686 (open: the lookup scans every registered class on each
 * validation); twentyhq/twenty#24085 memoizes it the same way.
 */
export function cacheValidationRules(storage: Storage = getMetadataStorage()): void {
  if (cached) return;
  cached = true;
  const lookUp = storage.getTargetValidationMetadatas.bind(storage);
  const group = storage.groupByPropertyName.bind(storage);
  const addRule = storage.addValidationMetadata.bind(storage);
  let rulesOf = new Map<Parameters<Storage['getTargetValidationMetadatas']>[0], Map<string, Rules>>();
  let groupedRules = new WeakMap<Rules, RulesByProperty>();

  storage.addValidationMetadata = (rule) => {
    rulesOf = new Map();
    groupedRules = new WeakMap();
    addRule(rule);
  };
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    if (groups !== undefined && groups.length > 0) return lookUp(target, schema, always, strictGroups, groups);
    const options = `${schema}|${always}|${strictGroups}`;
    let ofTarget = rulesOf.get(target);
    if (!ofTarget) rulesOf.set(target, (ofTarget = new Map()));
    let rules = ofTarget.get(options);
    if (!rules) ofTarget.set(options, (rules = lookUp(target, schema, always, strictGroups, groups)));
    return rules;
  };
  storage.groupByPropertyName = (rules) => {
    let grouped = groupedRules.get(rules);
    if (!grouped) groupedRules.set(rules, (grouped = group(rules)));
    return grouped;
  };
}
