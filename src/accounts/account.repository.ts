import { Injectable } from '@nestjs/common';
import { ChangeFeed } from 'src/database/change-feed';
import { Sql, SqlTx } from 'src/database/sql';
import type { AccountKind } from 'src/accounts/account';

/** A `wechat_accounts` row; secrets still sealed. */
export interface StoredAccount {
  appid: string;
  kind: AccountKind;
  name: string | null;
  secretSealed: string;
  tokenSealed: string | null;
  aesKeySealed: string | null;
  previousAesKeySealed: string | null;
  previousAesKeyUntil: Date | null;
  welcomeText: string | null;
  domainVerify: string | null;
  forwardUrl: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The columns a write may set (all but the key, the kind and the timestamps). */
export type AccountColumns = Omit<StoredAccount, 'appid' | 'kind' | 'createdAt' | 'updatedAt'>;

const COLUMNS: Record<keyof AccountColumns, string> = {
  name: 'name',
  secretSealed: 'secret_sealed',
  tokenSealed: 'token_sealed',
  aesKeySealed: 'aes_key_sealed',
  previousAesKeySealed: 'previous_aes_key_sealed',
  previousAesKeyUntil: 'previous_aes_key_until',
  welcomeText: 'welcome_text',
  domainVerify: 'domain_verify',
  forwardUrl: 'forward_url',
};

const SELECT = `SELECT appid, kind, name, secret_sealed AS "secretSealed", token_sealed AS "tokenSealed",
  aes_key_sealed AS "aesKeySealed", previous_aes_key_sealed AS "previousAesKeySealed",
  previous_aes_key_until AS "previousAesKeyUntil", welcome_text AS "welcomeText", domain_verify AS "domainVerify",
  forward_url AS "forwardUrl", created_at AS "createdAt", updated_at AS "updatedAt"
  FROM wechat_accounts`;

/** The topic of account changes on the change feed; `key` is the appid. */
export const ACCOUNT_TOPIC = 'account';

/**
 * `wechat_accounts`. Every write publishes an {@link ACCOUNT_TOPIC} change in its own transaction, so every instance
 * re-reads the accounts exactly when the change is committed.
 */
@Injectable()
export class AccountRepository {
  constructor(private readonly sql: Sql) {}

  list(): Promise<StoredAccount[]> {
    return this.sql.rows<StoredAccount>(`${SELECT} ORDER BY created_at, appid`);
  }

  /** Inserts the account; false when the appid is already taken (nothing changes then). */
  async insert(appid: string, kind: AccountKind, values: AccountColumns): Promise<StoredAccount | null> {
    return this.sql.transaction(async (tx) => {
      const keys = Object.keys(COLUMNS) as (keyof AccountColumns)[];
      const rows = await tx.rows<{ appid: string }>(
        `INSERT INTO wechat_accounts (appid, kind, ${keys.map((key) => COLUMNS[key]).join(', ')})
         VALUES ($1, $2, ${keys.map((_, index) => `$${index + 3}`).join(', ')})
         ON CONFLICT (appid) DO NOTHING RETURNING appid`,
        [appid, kind, ...keys.map((key) => values[key])],
      );
      if (rows.length === 0) {
        return null;
      }
      await this.publish(tx, appid);
      return this.findIn(tx, appid);
    });
  }

  /** Sets `changes` on the account; null when there is no such account. */
  async update(appid: string, changes: Partial<AccountColumns>): Promise<StoredAccount | null> {
    return this.sql.transaction(async (tx) => {
      const keys = (Object.keys(changes) as (keyof AccountColumns)[]).filter((key) => changes[key] !== undefined);
      const sets = keys.map((key, index) => `${COLUMNS[key]} = $${index + 2}`);
      const rows = await tx.rows(
        `UPDATE wechat_accounts SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE appid = $1 RETURNING appid`,
        [appid, ...keys.map((key) => changes[key])],
      );
      if (rows.length === 0) {
        return null;
      }
      await this.publish(tx, appid);
      return this.findIn(tx, appid);
    });
  }

  /**
   * Deletes the account with what belongs to it alone: its tokens and tickets, its auto-reply rules. Users and
   * their identities stay. False when there was no such account.
   */
  async delete(appid: string): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const rows = await tx.rows('DELETE FROM wechat_accounts WHERE appid = $1 RETURNING appid', [appid]);
      if (rows.length === 0) {
        return false;
      }
      await tx.rows('DELETE FROM access_tokens WHERE appid = $1', [appid]);
      await tx.rows('DELETE FROM wechat_auto_reply_rules WHERE appid = $1', [appid]);
      await this.publish(tx, appid);
      return true;
    });
  }

  /** Gives the rules kept under the empty appid (before accounts were data) to the default official account. */
  async adoptDefaultRules(appid: string): Promise<number> {
    const rows = await this.sql.rows(`UPDATE wechat_auto_reply_rules SET appid = $1 WHERE appid = '' RETURNING id`, [
      appid,
    ]);
    return rows.length;
  }

  private async findIn(tx: SqlTx, appid: string): Promise<StoredAccount> {
    const rows = await tx.rows<StoredAccount>(`${SELECT} WHERE appid = $1`, [appid]);
    return rows[0];
  }

  private async publish(tx: SqlTx, appid: string): Promise<void> {
    await tx.rows(...ChangeFeed.notifySql({ topic: ACCOUNT_TOPIC, key: appid }));
  }
}
