import { ApiResponse } from '@nestjs/swagger';
import type { ProblemCause } from './problem-causes';
import { problemResponse } from './problem-responses';

const CAUSES = 'openapi:problem-causes';

/**
 * Documents problem+json responses of an operation: one response per status, with one named
 * example per cause (so the 404 of a GET shows a not-found problem, not another status's).
 *
 * Composable: every use on a method adds its causes to those of the earlier ones (decorators of a
 * method run bottom-up), and a status declared twice gets one response with every example, its
 * description given once. `{ description: { [status]: text } }` replaces the generic description
 * of a status this use declares first.
 */
export function ApiProblems(...causes: Array<ProblemCause | { description: Record<number, string> }>): MethodDecorator {
  const descriptions = Object.assign({}, ...causes.map((entry) => ('description' in entry ? entry.description : {}))) as Record<number, string>;
  const ownCauses = causes.filter((entry): entry is ProblemCause => 'problem' in entry);
  return (target, key, descriptor) => {
    const method = descriptor.value as object;
    const earlier: ProblemCause[] = Reflect.getMetadata(CAUSES, method) ?? [];
    const all = [...earlier, ...ownCauses];
    Reflect.defineMetadata(CAUSES, all, method);
    for (const status of new Set(ownCauses.map(({ problem }) => problem.status))) {
      const declaredBefore = earlier.some(({ problem }) => problem.status === status);
      if (declaredBefore && descriptions[status]) throw new Error(`${String(key)}: the ${status} response was described before`);
      const response = problemResponse(status, all.filter(({ problem }) => problem.status === status), descriptions[status]);
      // An empty description keeps the one declared before (Nest's ApiResponse joins two non-empty ones).
      ApiResponse({ status, ...response, description: declaredBefore ? '' : response.description })(target, key, descriptor);
    }
  };
}
