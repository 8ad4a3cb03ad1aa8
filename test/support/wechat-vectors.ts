import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import bundled from 'test/fixtures/wechat-test-vectors.json';

/**
 * WeChat's official vectors: the team's shared file (`../shared/wechat-test-vectors.json`, beside the checkout, as
 * on CI) when it is there, so a new vector there is tested at once; otherwise the copy kept in test/fixtures.
 */
const shared = join(__dirname, '..', '..', '..', 'shared', 'wechat-test-vectors.json');

export const vectors: typeof bundled = existsSync(shared)
  ? (JSON.parse(readFileSync(shared, 'utf8')) as typeof bundled)
  : bundled;
