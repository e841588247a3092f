import { ApiHeader } from '@nestjs/swagger';

/** Documents the optional `If-Match` header of a command that changes an existing aggregate. */
export const ApiIfMatch = () =>
  ApiHeader({
    name: 'If-Match',
    required: false,
    description:
      'The `ETag` this command is based on, `W/"<version>"` (the strong form `"<version>"` is accepted too), or `*` for any version. ' +
      'If the aggregate is at another version, the command writes nothing and answers 412; a malformed value is a 400.',
    schema: { type: 'string', example: 'W/"1"' },
  });

/** The `ETag` response header: the stream version the response reflects. */
export const ETAG_RESPONSE_HEADER = {
  ETag: {
    description: 'The stream version of the aggregate this response reflects, `W/"<version>"`; send it back as `If-Match`',
    schema: { type: 'string', example: 'W/"1"' },
  },
};

/** The `Location` response header of a command that creates an aggregate. */
export const LOCATION_RESPONSE_HEADER = {
  Location: {
    description: 'Where to read the new aggregate; a GET of it right away shows the state this command produced',
    schema: { type: 'string', example: '/orders/0b5a1f6e-8d6f-4a8e-9a43-1d0d2a6c5a10' },
  },
};
