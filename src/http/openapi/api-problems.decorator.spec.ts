import { DECORATORS } from '@nestjs/swagger';
import { ApiProblems } from './api-problems.decorator';
import type { ProblemCause } from './problem-causes';

const cause = (status: number, code: string): ProblemCause => ({ name: code, summary: code, problem: { status, code, detail: `${code} happened` } });

function responsesOf(method: object): Record<string, { description: string; content: Record<string, { examples: Record<string, unknown> }> }> {
  return Reflect.getMetadata(DECORATORS.API_RESPONSE, method);
}

describe('ApiProblems', () => {
  it('documents one response per status, with one example per cause', () => {
    class Controller {
      @ApiProblems(cause(404, 'ORDER_NOT_FOUND'), cause(409, 'ORDER_NOT_SHIPPABLE'), cause(409, 'CONCURRENT_MODIFICATION'))
      ship() {}
    }
    const responses = responsesOf(Controller.prototype.ship);
    expect(Object.keys(responses).sort()).toEqual(['404', '409']);
    expect(Object.keys(responses['404'].content['application/problem+json'].examples)).toEqual(['ORDER_NOT_FOUND']);
    expect(Object.keys(responses['409'].content['application/problem+json'].examples)).toEqual(['ORDER_NOT_SHIPPABLE', 'CONCURRENT_MODIFICATION']);
  });

  it('merges a status two uses declare into one response, with every example and the description given once', () => {
    class Controller {
      @ApiProblems(cause(400, 'INVALID_IF_MATCH'))
      @ApiProblems({ description: { 400: 'refused' } }, cause(400, 'VALIDATION_FAILED'))
      place() {}
    }
    const bad = responsesOf(Controller.prototype.place)['400'];
    expect(Object.keys(bad.content['application/problem+json'].examples)).toEqual(['VALIDATION_FAILED', 'INVALID_IF_MATCH']);
    expect(bad.description).toBe('refused');
  });

  it('refuses a second description of a status, which would be joined to the first', () => {
    expect(() => {
      class Controller {
        @ApiProblems({ description: { 503: 'broker down' } }, cause(503, 'BROKER_UNAVAILABLE'))
        @ApiProblems(cause(503, 'LOAD_SHED'))
        redrive() {}
      }
      return Controller;
    }).toThrow('redrive: the 503 response was described before');
  });
});
