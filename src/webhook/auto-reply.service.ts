import { Injectable } from '@nestjs/common';
import type { OfficialAccount } from 'src/accounts/account';
import { AppException } from 'src/common/errors/app-exception';
import { AutoReplyRule, AutoReplyRuleRepository } from 'src/webhook/auto-reply-rule.repository';
import { AutoReplyRuleDto, CreateAutoReplyDto, ReplyDto } from 'src/webhook/dto/auto-reply.dto';
import type { Reply } from 'src/wechat/messages/reply';

/**
 * How long an instance reuses its copy of the rules. Keeps the webhook at one rule read per second instead of one per
 * message; a change made through another instance shows up here within this time.
 */
const RULE_CACHE_MS = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Keeps only the fields of the reply's type, in WeChat's order. */
export function normalizeReply(dto: ReplyDto): Reply {
  switch (dto.type) {
    case 'text':
      return { type: 'text', content: dto.content! };
    case 'image':
    case 'voice':
      return { type: dto.type, mediaId: dto.mediaId! };
    case 'video':
      return { type: 'video', mediaId: dto.mediaId!, title: dto.title ?? '', description: dto.description ?? '' };
    case 'music':
      return {
        type: 'music',
        title: dto.title ?? '',
        description: dto.description ?? '',
        musicUrl: dto.musicUrl ?? '',
        hqMusicUrl: dto.hqMusicUrl ?? '',
        thumbMediaId: dto.thumbMediaId!,
      };
    case 'news':
      return {
        type: 'news',
        articles: dto.articles!.map(({ title, description, picUrl, url }) => ({ title, description, picUrl, url })),
      };
  }
}

export function toRuleDto(rule: AutoReplyRule): AutoReplyRuleDto {
  const common = { id: rule.id, reply: rule.reply as ReplyDto, createdAt: new Date(rule.createdAt).toISOString() };
  return rule.matchKind === 'event'
    ? { ...common, event: rule.event!, eventKey: rule.eventKey! }
    : { ...common, match: rule.matchKind, keyword: rule.keyword! };
}

/** The key rules are kept under: the account's appid, or '' for a default account whose appid is not set. */
const keyOf = (account: OfficialAccount): string => account.appid ?? '';
const NO_RULES: AutoReplyRule[] = [];

/** Rules by account. */
type RuleBook = Map<string, AutoReplyRule[]>;

/**
 * Auto-reply rules, each of one official account: managed by the admin API, matched by the webhook (exact keywords
 * first, then contained ones). The webhook reads every account's rules at once, at most once a second.
 */
@Injectable()
export class AutoReplyService {
  private cache?: { rules: RuleBook; until: number };
  private loading?: Promise<RuleBook>;
  /** Bumped on every change, so a read that started before it does not refill the cache with old rules. */
  private generation = 0;

  constructor(private readonly repository: AutoReplyRuleRepository) {}

  async create(account: OfficialAccount, dto: CreateAutoReplyDto): Promise<AutoReplyRuleDto> {
    if (dto.match !== undefined && dto.event !== undefined) {
      throw AppException.badRequest('A rule matches either a keyword (match, keyword) or a click (event, eventKey).');
    }
    const reply = normalizeReply(dto.reply);
    const rule = await this.repository.create(
      keyOf(account),
      dto.event
        ? { matchKind: 'event', keyword: null, event: dto.event, eventKey: dto.eventKey!, reply }
        : { matchKind: dto.match!, keyword: dto.keyword!, event: null, eventKey: null, reply },
    );
    this.invalidate();
    return toRuleDto(rule);
  }

  async list(account: OfficialAccount): Promise<AutoReplyRuleDto[]> {
    return (await this.repository.list(keyOf(account))).map(toRuleDto);
  }

  async get(account: OfficialAccount, id: string): Promise<AutoReplyRuleDto> {
    const rule = UUID.test(id) ? await this.repository.find(keyOf(account), id) : null;
    if (!rule) {
      throw AppException.notFound('No auto-reply rule has this id.');
    }
    return toRuleDto(rule);
  }

  async delete(account: OfficialAccount, id: string): Promise<void> {
    if (!UUID.test(id) || !(await this.repository.delete(keyOf(account), id))) {
      throw AppException.notFound('No auto-reply rule has this id.');
    }
    this.invalidate();
  }

  private invalidate(): void {
    this.cache = undefined;
    this.loading = undefined;
    this.generation += 1;
  }

  matchText(account: OfficialAccount, text: string): Promise<Reply | null> {
    return this.withRules(account, (rules) => {
      const exact = rules.find((rule) => rule.matchKind === 'exact' && rule.keyword === text.trim());
      const contains = exact ?? rules.find((rule) => rule.matchKind === 'contains' && text.includes(rule.keyword!));
      return contains?.reply ?? null;
    });
  }

  matchEvent(account: OfficialAccount, event: string, eventKey: string): Promise<Reply | null> {
    return this.withRules(
      account,
      (rules) =>
        rules.find((rule) => rule.matchKind === 'event' && rule.event === event && rule.eventKey === eventKey)?.reply ??
        null,
    );
  }

  /** `match` over the account's rules: straight from the cached copy while it is fresh (no extra await per message). */
  private withRules(account: OfficialAccount, match: (rules: AutoReplyRule[]) => Reply | null): Promise<Reply | null> {
    const key = keyOf(account);
    if (this.cache && this.cache.until > Date.now()) {
      return Promise.resolve(match(this.cache.rules.get(key) ?? NO_RULES));
    }
    return this.rules().then((book) => match(book.get(key) ?? NO_RULES));
  }

  private async rules(): Promise<RuleBook> {
    if (this.cache && this.cache.until > Date.now()) {
      return this.cache.rules;
    }
    if (!this.loading) {
      const generation = this.generation;
      const loading = this.repository.listAll().then((all) => {
        const rules: RuleBook = new Map();
        for (const rule of all) {
          const list = rules.get(rule.appid);
          if (list) {
            list.push(rule);
          } else {
            rules.set(rule.appid, [rule]);
          }
        }
        if (generation === this.generation) {
          this.cache = { rules, until: Date.now() + RULE_CACHE_MS };
        }
        return rules;
      });
      this.loading = loading;
      void loading
        .finally(() => {
          if (this.loading === loading) {
            this.loading = undefined;
          }
        })
        .catch(() => undefined);
    }
    return this.loading;
  }
}
