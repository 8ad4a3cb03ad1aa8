import { AutoReplyRule, AutoReplyRuleRepository, NewAutoReplyRule } from 'src/webhook/auto-reply-rule.repository';
import { AutoReplyService } from 'src/webhook/auto-reply.service';
import { CreateAutoReplyDto } from 'src/webhook/dto/auto-reply.dto';
import { officialAccount } from 'test/support/accounts';

const ACCOUNT = officialAccount({ appid: 'wxrules000000001' });
const OTHER = officialAccount({ appid: 'wxrules000000002', source: 'api' });

/** An in-memory stand-in for the rule table that counts reads. */
class FakeRuleRepository {
  rules: AutoReplyRule[] = [];
  reads = 0;

  create(appid: string, rule: NewAutoReplyRule): Promise<AutoReplyRule> {
    const created = {
      ...rule,
      appid,
      id: `00000000-0000-4000-8000-${String(this.rules.length).padStart(12, '0')}`,
      createdAt: new Date(),
    };
    this.rules.push(created);
    return Promise.resolve(created);
  }

  listAll(): Promise<AutoReplyRule[]> {
    this.reads += 1;
    return Promise.resolve([...this.rules]);
  }

  list(appid: string): Promise<AutoReplyRule[]> {
    return Promise.resolve(this.rules.filter((rule) => rule.appid === appid));
  }

  find(appid: string, id: string): Promise<AutoReplyRule | null> {
    return Promise.resolve(this.rules.find((rule) => rule.id === id && rule.appid === appid) ?? null);
  }

  delete(appid: string, id: string): Promise<boolean> {
    const before = this.rules.length;
    this.rules = this.rules.filter((rule) => rule.id !== id || rule.appid !== appid);
    return Promise.resolve(this.rules.length < before);
  }
}

describe(AutoReplyService.name, () => {
  let repository: FakeRuleRepository;
  let sut: AutoReplyService;

  beforeEach(() => {
    repository = new FakeRuleRepository();
    sut = new AutoReplyService(repository as unknown as AutoReplyRuleRepository);
  });

  const text = (content: string) => ({ type: 'text' as const, content });
  const add = (dto: Partial<CreateAutoReplyDto>, account = ACCOUNT) =>
    sut.create(account, { reply: text('r'), ...dto } as CreateAutoReplyDto);

  it('should prefer an exact rule to an older contains rule', async () => {
    await add({ match: 'contains', keyword: '价格', reply: text('contains') });
    await add({ match: 'exact', keyword: '价格', reply: text('exact') });
    expect(await sut.matchText(ACCOUNT, ' 价格 ')).toEqual(text('exact'));
    expect(await sut.matchText(ACCOUNT, '价格多少')).toEqual(text('contains'));
    expect(await sut.matchText(ACCOUNT, '别的')).toBeNull();
  });

  it('should match CLICK rules by EventKey only', async () => {
    await add({ event: 'CLICK', eventKey: 'K1', reply: text('k1') });
    expect(await sut.matchEvent(ACCOUNT, 'CLICK', 'K1')).toEqual(text('k1'));
    expect(await sut.matchEvent(ACCOUNT, 'CLICK', 'K2')).toBeNull();
    expect(await sut.matchText(ACCOUNT, 'K1')).toBeNull();
  });

  it('should read the rules once for a burst of messages and again after a change', async () => {
    await add({ match: 'exact', keyword: 'a' });
    await Promise.all(Array.from({ length: 10 }, () => sut.matchText(ACCOUNT, 'a')));
    expect(repository.reads).toBe(1);
    await add({ match: 'exact', keyword: 'b', reply: text('new') });
    expect(await sut.matchText(ACCOUNT, 'b')).toEqual(text('new'));
    expect(repository.reads).toBe(2);
  });

  it('should keep only the fields of the reply type', async () => {
    const created = await sut.create(ACCOUNT, {
      match: 'exact',
      keyword: 'x',
      reply: { type: 'image', mediaId: 'm', content: 'stray' },
    } as CreateAutoReplyDto);
    expect(created.reply).toEqual({ type: 'image', mediaId: 'm' });
  });

  it('should refuse a rule with both a keyword and an event', async () => {
    await expect(add({ match: 'exact', keyword: 'k', event: 'CLICK', eventKey: 'k' })).rejects.toMatchObject({
      status: 400,
    });
    expect(repository.rules).toHaveLength(0);
  });

  it('should answer 404 for an unknown or malformed id', async () => {
    await expect(sut.get(ACCOUNT, 'not-a-uuid')).rejects.toMatchObject({ status: 404 });
    await expect(sut.delete(ACCOUNT, '00000000-0000-4000-8000-000000000999')).rejects.toMatchObject({ status: 404 });
  });

  it("should keep each account's rules to itself: matched, listed, read and deleted only under it", async () => {
    const mine = await add({ match: 'exact', keyword: '你好', reply: text('mine') });
    await add({ match: 'exact', keyword: '你好', reply: text('theirs') }, OTHER);
    expect(await sut.matchText(ACCOUNT, '你好')).toEqual(text('mine'));
    expect(await sut.matchText(OTHER, '你好')).toEqual(text('theirs'));
    expect(await sut.matchText(officialAccount({ appid: 'wxrules000000003' }), '你好')).toBeNull();
    expect((await sut.list(OTHER)).map((rule) => rule.reply)).toEqual([text('theirs')]);
    await expect(sut.get(OTHER, mine.id)).rejects.toMatchObject({ status: 404 });
    await expect(sut.delete(OTHER, mine.id)).rejects.toMatchObject({ status: 404 });
    await sut.delete(ACCOUNT, mine.id);
    expect(await sut.matchText(ACCOUNT, '你好')).toBeNull();
  });
});
