import type { SecretSealer } from 'src/common/sealing/secret-sealer';

/** A table's sealed columns and the key that finds a row again. */
export interface SealedTable {
  table: string;
  /** The primary key (one column), walked in its index's order. */
  key: string;
  keyType: 'uuid' | 'text';
  columns: string[];
}

/**
 * Every column sealed with DATA_ENCRYPTION_KEY. A test compares it with the schema (every `*_sealed` column must be
 * here), so a new sealed column cannot be forgotten by `npm run reseal`.
 */
export const SEALED_TABLES: readonly SealedTable[] = [
  { table: 'wechat_identities', key: 'id', keyType: 'uuid', columns: ['session_key_sealed', 'refresh_token_sealed'] },
  { table: 'access_tokens', key: 'appid', keyType: 'text', columns: ['access_token_sealed'] },
  {
    table: 'wechat_accounts',
    key: 'appid',
    keyType: 'text',
    columns: ['secret_sealed', 'token_sealed', 'aes_key_sealed', 'previous_aes_key_sealed'],
  },
];

/** Rows read and re-sealed at a time. */
export const RESEAL_BATCH = 500;

type Query = <T>(sql: string, params: unknown[]) => Promise<T[]>;

export interface ResealReport {
  /** Values re-sealed with the current key, per `table.column`. */
  resealed: Record<string, number>;
  /** Values neither key opens, per `table.column` (left as they are; their rows are named in the log). */
  unreadable: Record<string, number>;
}

/**
 * Re-seals, with the current key, every value still sealed with DATA_ENCRYPTION_KEY_PREVIOUS: table by table, in
 * key order, RESEAL_BATCH rows read and written back a statement each. A value is written back only if it is still
 * the one read (a row the
 * service rewrote meanwhile is sealed with the current key already), so it may run while the service is up.
 */
export async function resealAll(
  query: Query,
  sealer: SecretSealer,
  onUnreadable: (table: string, column: string, key: string) => void = () => undefined,
): Promise<ResealReport> {
  const report: ResealReport = { resealed: {}, unreadable: {} };
  for (const { table, key, keyType, columns } of SEALED_TABLES) {
    for (const column of columns) {
      const name = `${table}.${column}`;
      report.resealed[name] = 0;
      report.unreadable[name] = 0;
      let after: string | null = null;
      for (;;) {
        const rows: { key: string; value: string }[] = await query(
          `SELECT ${key}::text AS key, ${column} AS value FROM ${table}
            WHERE ${column} IS NOT NULL AND ($1::${keyType} IS NULL OR ${key} > $1::${keyType})
            ORDER BY ${key} LIMIT ${RESEAL_BATCH}`,
          [after],
        );
        const keys: string[] = [];
        const fresh: string[] = [];
        const read: string[] = [];
        for (const row of rows) {
          let resealed: string | undefined;
          try {
            resealed = sealer.reseal(row.value);
          } catch {
            report.unreadable[name] += 1;
            onUnreadable(table, column, row.key);
            continue;
          }
          if (resealed !== undefined) {
            keys.push(row.key);
            fresh.push(resealed);
            read.push(row.value);
          }
        }
        if (keys.length > 0) {
          const updated = await query(
            `UPDATE ${table} AS t SET ${column} = v.fresh
               FROM unnest($1::${keyType}[], $2::text[], $3::text[]) AS v(key, fresh, read)
              WHERE t.${key} = v.key AND t.${column} = v.read
             RETURNING 1`,
            [keys, fresh, read],
          );
          report.resealed[name] += updated.length;
        }
        if (rows.length < RESEAL_BATCH) {
          break;
        }
        after = rows[rows.length - 1].key;
      }
    }
  }
  return report;
}
