import { isDeepStrictEqual } from 'node:util';
import type { ContractRule, ContractRules } from './contract-rules';

const FROZEN = "a published version's validation rules are frozen: consumers of this version validate with the old ones";

/**
 * Compares a published version's class-validator rules with the ones the code has now, property
 * by property, and lists every difference on a property the published version has: a rule added,
 * removed, or changed (another constraint, `each`, nested class, condition, group), each as
 * `data.<path>: rule <name> …`. None is compatible, whether it tightens or loosens: events valid
 * under one set of rules must stay valid under the other, both ways (see compareContractSchemas).
 * A property the published version lacks is new, and left to the schema comparison, which
 * accepts it when it is optional. A property gone is reported once, by the schema comparison:
 * `alreadyReported` holds the paths it named, and rules under those paths are not listed again.
 */
export function compareContractRules(published: ContractRules, current: ContractRules, alreadyReported: readonly string[] = [], path = 'data'): string[] {
  const breaking: string[] = [];
  for (const [property, before] of Object.entries(published)) {
    const at = `${path}.${property}`;
    const after = current[property];
    if (after === undefined) {
      if (!alreadyReported.some((reported) => at === reported || at.startsWith(`${reported}.`) || at.startsWith(`${reported}[]`))) {
        breaking.push(`${at}: its rules ${names(before)} are gone (${FROZEN})`);
      }
      continue;
    }
    breaking.push(...compareRuleLists(at, before, after));
  }
  return breaking;
}

function compareRuleLists(at: string, before: ContractRule[], after: ContractRule[]): string[] {
  const removed = without(before, after);
  const added = without(after, before);
  const messages: string[] = [];
  for (const name of new Set([...removed, ...added].map(({ rule }) => String(rule)))) {
    const was = removed.filter(({ rule }) => rule === name);
    const now = added.filter(({ rule }) => rule === name);
    if (was.length === 1 && now.length === 1) {
      messages.push(`${at}: rule ${name} changed, ${differences(was[0], now[0])} (${FROZEN})`);
    } else {
      for (const rule of was) messages.push(`${at}: rule ${name} removed (was ${details(rule)}) (${FROZEN})`);
      for (const rule of now) messages.push(`${at}: rule ${name} added: ${details(rule)} (${FROZEN})`);
    }
  }
  return messages;
}

/** The rules of `list` that `other` does not have, one for one (a rule may appear twice). */
function without(list: ContractRule[], other: ContractRule[]): ContractRule[] {
  const left = [...other];
  return list.filter((rule) => {
    const match = left.findIndex((candidate) => isDeepStrictEqual(candidate, rule));
    if (match === -1) return true;
    left.splice(match, 1);
    return false;
  });
}

/** `constraints from [null] to ["4"]`, one clause per key that differs. */
function differences(before: ContractRule, after: ContractRule): string {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => !isDeepStrictEqual(before[key], after[key]));
  return keys.map((key) => `${key} from ${show(before[key])} to ${show(after[key])}`).join(', ');
}

function details(rule: ContractRule): string {
  return JSON.stringify(Object.fromEntries(Object.entries(rule).filter(([key]) => key !== 'rule')));
}

function names(rules: ContractRule[]): string {
  return rules.map(({ rule }) => String(rule)).join(', ');
}

function show(value: unknown): string {
  return value === undefined ? 'none' : JSON.stringify(value);
}
