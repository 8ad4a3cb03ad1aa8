import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

// class-validator checks a property's decorators from the bottom up and reports the first failure: the type check
// comes last, so a missing or mistyped field is told that, not a length limit.
export const REPLY_TYPES = ['text', 'image', 'voice', 'video', 'music', 'news'] as const;
export type ReplyType = (typeof REPLY_TYPES)[number];

const isType =
  (...types: ReplyType[]) =>
  (reply: ReplyDto): boolean =>
    types.includes(reply.type);

export class NewsArticleDto {
  @ApiProperty({ example: '本周活动' })
  @MaxLength(256)
  @IsString()
  title: string;

  @ApiProperty({ example: '点开看看' })
  @MaxLength(1024)
  @IsString()
  description: string;

  @ApiProperty({ example: 'https://example.com/cover.jpg' })
  @MaxLength(1024)
  @IsString()
  picUrl: string;

  @ApiProperty({ example: 'https://example.com/week' })
  @MaxLength(1024)
  @IsString()
  url: string;
}

/** A passive reply; which fields are required depends on `type`. */
export class ReplyDto {
  @ApiProperty({ enum: REPLY_TYPES, example: 'text' })
  @IsIn(REPLY_TYPES, { message: `type must be one of ${REPLY_TYPES.join(', ')}` })
  type: ReplyType;

  @ApiPropertyOptional({ description: 'text: the words to send', example: '你好！' })
  @ValidateIf(isType('text'))
  @MaxLength(2048)
  @IsNotEmpty()
  @IsString()
  content?: string;

  @ApiPropertyOptional({ description: 'image, voice, video: a media_id from the material API' })
  @ValidateIf(isType('image', 'voice', 'video'))
  @MaxLength(256)
  @IsNotEmpty()
  @IsString()
  mediaId?: string;

  @ApiPropertyOptional({ description: 'video, music' })
  @ValidateIf(isType('video', 'music'))
  @IsOptional()
  @MaxLength(256)
  @IsString()
  title?: string;

  @ApiPropertyOptional({ description: 'video, music' })
  @ValidateIf(isType('video', 'music'))
  @IsOptional()
  @MaxLength(1024)
  @IsString()
  description?: string;

  @ApiPropertyOptional({ description: 'music' })
  @ValidateIf(isType('music'))
  @IsOptional()
  @MaxLength(1024)
  @IsString()
  musicUrl?: string;

  @ApiPropertyOptional({ description: 'music: high-quality link, played on Wi-Fi' })
  @ValidateIf(isType('music'))
  @IsOptional()
  @MaxLength(1024)
  @IsString()
  hqMusicUrl?: string;

  @ApiPropertyOptional({ description: 'music: media_id of the thumbnail' })
  @ValidateIf(isType('music'))
  @MaxLength(256)
  @IsNotEmpty()
  @IsString()
  thumbMediaId?: string;

  @ApiPropertyOptional({ type: [NewsArticleDto], description: 'news: 1 to 8 articles, sent as given' })
  @ValidateIf(isType('news'))
  @ValidateNested({ each: true })
  @ArrayMaxSize(8, { message: 'articles must hold 1 to 8 articles' })
  @ArrayMinSize(1, { message: 'articles must hold 1 to 8 articles' })
  @IsArray()
  @Type(() => NewsArticleDto)
  articles?: NewsArticleDto[];
}

/** Either a keyword rule (`match` + `keyword`) or a menu-click rule (`event` + `eventKey`). */
export class CreateAutoReplyDto {
  @ApiPropertyOptional({ enum: ['exact', 'contains'], description: 'keyword rules: how the text must match' })
  @ValidateIf((dto: CreateAutoReplyDto) => dto.event === undefined || dto.match !== undefined)
  @IsIn(['exact', 'contains'], { message: 'match must be "exact" or "contains" (or give event and eventKey)' })
  match?: 'exact' | 'contains';

  @ApiPropertyOptional({ example: '营业时间' })
  @ValidateIf((dto: CreateAutoReplyDto) => dto.match !== undefined)
  @MaxLength(256)
  @IsNotEmpty({ message: 'keyword must not be empty' })
  @IsString()
  keyword?: string;

  @ApiPropertyOptional({ enum: ['CLICK'], description: 'menu rules: the event' })
  @ValidateIf((dto: CreateAutoReplyDto) => dto.match === undefined || dto.event !== undefined)
  @IsIn(['CLICK'], { message: 'event must be "CLICK"' })
  event?: 'CLICK';

  @ApiPropertyOptional({ example: 'V1001_TODAY_MUSIC', description: "menu rules: the button's key" })
  @ValidateIf((dto: CreateAutoReplyDto) => dto.event !== undefined)
  @MaxLength(128)
  @IsNotEmpty({ message: 'eventKey must not be empty' })
  @IsString()
  eventKey?: string;

  @ApiProperty({ type: ReplyDto })
  @ValidateNested()
  @IsObject({ message: 'reply must be an object such as {"type":"text","content":"…"}' })
  @Type(() => ReplyDto)
  reply: ReplyDto;
}

export class AutoReplyRuleDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiPropertyOptional({ enum: ['exact', 'contains'] })
  match?: 'exact' | 'contains';

  @ApiPropertyOptional()
  keyword?: string;

  @ApiPropertyOptional({ enum: ['CLICK'] })
  event?: string;

  @ApiPropertyOptional()
  eventKey?: string;

  @ApiProperty({ type: ReplyDto })
  reply: ReplyDto;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}
