import { Injectable, Logger } from '@nestjs/common';
import { requireFields } from 'src/accounts/account';
import { AccountRegistry } from 'src/accounts/account.registry';
import { sha256Hex } from 'src/common/sealing/secret-sealer';
import { CredentialKind } from 'src/token/credential-kind';
import { CredentialStore } from 'src/token/credential-store';
import { TicketClient } from 'src/token/ticket.client';

/** The ticket types the service keeps: the JS-SDK's (`wx.config`). */
export const TICKET_TYPES = ['jsapi'] as const;
export type TicketType = (typeof TICKET_TYPES)[number];

const KIND_OF: Record<TicketType, CredentialKind> = { jsapi: 'jsapi_ticket' };

export interface TicketView {
  appid: string;
  type: TicketType;
  ticket: string;
  expiresAt: Date;
}

/**
 * The JS-SDK tickets of every official account, in the same store and under the same rules as access tokens
 * (CredentialStore): fetched once across instances through AccessTokenHttpClient (so a stale access token is dropped
 * and the fetch retried once), refreshed before expiry, compare-and-expired when rejected, announced to every instance.
 */
@Injectable()
export class TicketService {
  private readonly logger = new Logger(TicketService.name);

  constructor(
    private readonly store: CredentialStore,
    private readonly client: TicketClient,
    private readonly registry: AccountRegistry,
  ) {}

  /**
   * The current ticket of the official account `appid` (the default one when left out); 404 for an appid that is
   * no official account here (a mini-program has no JS-SDK ticket).
   */
  async getTicket(appid: string | undefined, type: TicketType = 'jsapi'): Promise<TicketView> {
    const id = this.officialAccountAppid(appid);
    const credential = await this.store.get(KIND_OF[type], id, () => this.fetch(id, type));
    return { appid: id, type, ticket: credential.value, expiresAt: credential.expiresAt };
  }

  /**
   * A page signed with `ticket` was refused: drops it if it is still the stored one and answers a ticket that is
   * not it — fetched once, whichever instances and callers report the same ticket at once.
   */
  async onTicketRejected(appid: string, type: TicketType, ticket: string): Promise<TicketView> {
    const id = this.officialAccountAppid(appid);
    const expired = await this.store.reject(KIND_OF[type], id, ticket);
    this.logger.log(`The ${type} ticket of ${id} ${expired ? 'expired' : 'was already replaced'} after a rejection`);
    const credential = await this.store.get(KIND_OF[type], id, () => this.fetch(id, type), {
      notHash: sha256Hex(ticket),
    });
    return { appid: id, type, ticket: credential.value, expiresAt: credential.expiresAt };
  }

  private async fetch(appid: string, type: TicketType) {
    const result = await this.client.getTicket(appid, type);
    return { value: result.ticket, expiresIn: Number(result.expires_in) };
  }

  private officialAccountAppid(appid: string | undefined): string {
    const account = this.registry.officialAccount(appid);
    return account.appid && account.secret ? account.appid : requireFields(account, 'appid', 'secret').appid;
  }
}
