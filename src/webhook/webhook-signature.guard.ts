import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { AppException } from 'src/common/errors/app-exception';
import type { Configuration } from 'src/config/configuration';
import { verifySignature } from 'src/wechat/crypto/signature';
import { extractEncrypt } from 'src/wechat/xml/xml.codec';

const one = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * The check before anything else looks at a webhook request, GET included (WeChat's echostr check too): the plain
 * `signature` over (Token, timestamp, nonce), and in encrypted mode the `msg_signature` over the `Encrypt` element as
 * well. Compared in constant time; a mismatch throws the 401 and nothing further happens.
 */
export function checkWebhookSignature(
  token: string | undefined,
  method: string,
  query: Record<string, unknown>,
  body: unknown,
): void {
  if (!token) {
    throw AppException.notConfigured('WECHAT_OA_TOKEN');
  }
  const timestamp = one(query.timestamp) ?? '';
  const nonce = one(query.nonce) ?? '';
  const encrypted = method === 'POST' && one(query.encrypt_type) === 'aes';
  const signature = one(query.signature);
  // In encrypted mode msg_signature is what counts; WeChat sends `signature` too, and when present it must hold.
  const plainOk = signature === undefined && encrypted ? true : verifySignature(token, [timestamp, nonce], signature);
  let messageOk = true;
  if (plainOk && encrypted) {
    const encrypt = typeof body === 'string' ? extractEncrypt(body) : undefined;
    messageOk = encrypt !== undefined && verifySignature(token, [timestamp, nonce, encrypt], one(query.msg_signature));
  }
  if (!plainOk || !messageOk) {
    throw new AppException(401, 'invalid_signature', 'The WeChat signature does not match: check the Token.');
  }
}

/** checkWebhookSignature as a guard, for the webhook routes served by Nest (the GET URL check). */
@Injectable()
export class WebhookSignatureGuard implements CanActivate {
  private readonly token?: string;

  constructor(config: ConfigService<Configuration, true>) {
    this.token = config.get('wechat', { infer: true }).oa.token;
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Querystring: Record<string, unknown> }>>();
    checkWebhookSignature(this.token, request.method, request.query, request.body);
    return true;
  }
}
