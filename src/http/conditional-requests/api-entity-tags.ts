import { applyDecorators } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { VersionMismatchError } from '../../shared/domain-error';
import { ApiProblems } from '../openapi/api-problems.decorator';
import { causeOf, EXAMPLE_IDS } from '../openapi/problem-causes';
import { InvalidIfMatchError } from './entity-tag.errors';

/** Documents the optional `If-Match` header of a command that changes an existing aggregate, and its 400 and 412. */
export const ApiIfMatch = () =>
  applyDecorators(
    ApiHeader({
      name: 'If-Match',
      required: false,
      description:
        'The `ETag` this command is based on, `W/"<version>"` (the strong form `"<version>"` is accepted too), or `*` for any version. ' +
        'If the aggregate is at another version, the command writes nothing and answers 412; a malformed value is a 400.',
      schema: { type: 'string', example: 'W/"1"' },
    }),
    ApiProblems(
      causeOf(new InvalidIfMatchError(), 'If-Match is not an ETag of this API'),
      causeOf(new VersionMismatchError(EXAMPLE_IDS.order, 1, 2), 'The aggregate is at another version'),
    ),
  );

/** The `ETag` response header: the stream version the response reflects. */
export const ETAG_RESPONSE_HEADER = {
  ETag: {
    description: 'The stream version of the aggregate this response reflects, `W/"<version>"`; send it back as `If-Match`',
    schema: { type: 'string', example: 'W/"1"' },
  },
};

/** The `Location` response header of a command that creates an aggregate (`example`: a path). */
export function locationResponseHeader(example: string) {
  return {
    Location: {
      description: 'Where to read the new aggregate; a GET of it right away shows the state this command produced',
      schema: { type: 'string', example },
    },
  };
}
