import type { OpenAPIObject } from '@nestjs/swagger';

type Operation = NonNullable<OpenAPIObject['paths'][string]['get']>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The contract's error body, as every route answers its failures. */
const ERROR_SCHEMA = {
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer', example: 400 },
    error: { type: 'string', description: 'A short code, e.g. bad_request, invalid_code, too_many_requests' },
    message: { type: 'string', description: 'A sentence for people' },
  },
};

/**
 * What the framework's scan cannot say of every route at once: the contract's error body (`ErrorBody`) as each
 * operation's answer to anything but its documented successes, and the `admin` key (X-Admin-Key) on every
 * `/admin/*` route (whichever module mounts it).
 */
export function completeDocument(document: OpenAPIObject): void {
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, ErrorBody: ERROR_SCHEMA };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation: Operation | undefined = item[method];
      if (!operation) {
        continue;
      }
      operation.responses = {
        ...operation.responses,
        default: {
          description: 'An error, as {statusCode, error, message}',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
        },
      };
      if (path.startsWith('/admin/') || path === '/admin') {
        operation.security = [{ admin: [] }];
      }
    }
  }
}
