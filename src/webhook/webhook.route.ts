import { isXmlContentType } from 'src/common/http/body-parsers';
import type { LaneRouteOptions } from 'src/common/http/fast-lane';

/**
 * `POST /wechat/webhook` in the fast lane (WebhookController.deliver): WeChat delivers every message and event here
 * and gives up after 5 s, so the route runs as a bare node:http handler rather than through the framework's router,
 * middleware and guards, which cost more per request than the webhook's own work. The lane reads the XML with the
 * shared limits and answers, logs and describes it as any other route.
 */
export const WEBHOOK_DELIVERY: LaneRouteOptions = {
  readsBody: isXmlContentType,
  requestIdPrefix: 'wh',
  operation: {
    tags: ['webhook'],
    summary: 'Messages and events from WeChat (plaintext, compatible or safe mode)',
    parameters: ['signature', 'timestamp', 'nonce', 'openid', 'encrypt_type', 'msg_signature'].map((name) => ({
      name,
      in: 'query' as const,
      required: false,
      schema: { type: 'string' as const },
    })),
    requestBody: {
      description: "WeChat's message XML (at most 64 KiB)",
      required: true,
      content: {
        'text/xml': { schema: { type: 'string' as const } },
        'application/xml': { schema: { type: 'string' as const } },
      },
    },
    responses: {
      '200': { description: 'A passive reply (application/xml) or the text `success`' },
      '400': { description: 'Malformed or hostile XML, or an encrypted message that does not open; nothing recorded' },
      '401': { description: 'The signature does not match the Token; nothing recorded' },
      '413': { description: 'A body over 64 KiB' },
      '415': { description: 'A body not sent as text/xml or application/xml' },
    },
  },
};

/** `POST /wechat/webhook/:appid`: the same for one official account of the registry (404 for any other appid). */
export const WEBHOOK_ACCOUNT_DELIVERY: LaneRouteOptions = {
  ...WEBHOOK_DELIVERY,
  operation: {
    ...WEBHOOK_DELIVERY.operation,
    summary: 'Messages and events from WeChat for one official account (its webhookUrl in /admin/accounts)',
    responses: {
      ...WEBHOOK_DELIVERY.operation.responses,
      '404': { description: 'No official account with this appid; nothing recorded' },
    },
  },
};
