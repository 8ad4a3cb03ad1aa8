import { randomBytes, createHash, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage } from 'node:http';
import { Pool } from 'pg';

/**
 * The floor for mini-program logins: a bare node:http + pg handler doing the least a correct login must do —
 * code2session, one upsert (identity + user, race-safe), one session row — and nothing else (no validation
 * framework, no logging, no DI). Run: `node -r ts-node/register/transpile-only bench/floor-login.ts`
 * with PORT, DATABASE_URL, WECHAT_API_BASE, WECHAT_MP_APPID, WECHAT_MP_SECRET.
 */
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const api = process.env.WECHAT_API_BASE!;
const appid = process.env.WECHAT_MP_APPID!;
const secret = process.env.WECHAT_MP_SECRET!;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.end('ok');
    return;
  }
  void (async () => {
    try {
      const { code } = JSON.parse(await readBody(req)) as { code: string };
      const query = new URLSearchParams({ appid, secret, js_code: code, grant_type: 'authorization_code' });
      const session = (await (await fetch(`${api}/sns/jscode2session?${query}`)).json()) as {
        openid?: string;
        unionid?: string;
      };
      if (!session.openid) {
        res.writeHead(401).end();
        return;
      }
      const { rows } = await pool.query(
        `WITH ident AS (
           INSERT INTO wechat_identities AS wi (user_id, appid, openid, source, unionid)
           VALUES ($1, $2, $3, 'mini_program', $4)
           ON CONFLICT ON CONSTRAINT "UQ_wechat_identities_appid_openid" DO UPDATE SET updated_at = now()
           RETURNING wi.user_id, (wi.xmax = 0) AS inserted
         ), u AS (INSERT INTO users (id) SELECT user_id FROM ident WHERE inserted)
         SELECT user_id, inserted FROM ident`,
        [randomUUID(), appid, session.openid, session.unionid ?? null],
      );
      const token = randomBytes(32).toString('base64url');
      await pool.query(
        `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '30 days')`,
        [rows[0].user_id, createHash('sha256').update(token).digest('hex')],
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ token, user: { id: rows[0].user_id, openid: session.openid, isNew: rows[0].inserted } }),
      );
    } catch {
      res.writeHead(500).end();
    }
  })();
});

server.listen(Number(process.env.PORT));
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
