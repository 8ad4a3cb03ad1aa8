import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmpty, IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import { ACCOUNT_KINDS, AccountKind, AccountSource } from 'src/accounts/account';
import { ACCOUNT_RULES } from 'src/accounts/account-rules';

const rule = (field: keyof typeof ACCOUNT_RULES) =>
  Matches(ACCOUNT_RULES[field].pattern, { message: `${field} ${ACCOUNT_RULES[field].message}` });

/** The fields only an official account has: given for a mini-program, they are refused (400 naming the first). */
export const OFFICIAL_ACCOUNT_FIELDS = ['token', 'aesKey', 'welcomeText', 'domainVerify', 'forwardUrl'] as const;

/** `POST /admin/accounts`: the same rules as the `WECHAT_OA_*` / `WECHAT_MP_*` variables. */
export class CreateAccountDto {
  @ApiProperty({ enum: ACCOUNT_KINDS, example: 'official_account' })
  @IsIn(ACCOUNT_KINDS, { message: `kind must be one of ${ACCOUNT_KINDS.join(', ')}` })
  kind: AccountKind;

  @ApiProperty({ example: 'wx2b7e5c0a9d3f4e61' })
  @IsString({ message: 'appid must be a string' })
  @rule('appid')
  appid: string;

  @ApiProperty({ description: 'AppSecret; never shown again', example: 'a3f1…' })
  @IsString({ message: 'secret must be a string' })
  @IsNotEmpty({ message: 'secret must not be empty' })
  @MaxLength(128, { message: 'secret must be at most 128 characters' })
  secret: string;

  @ApiPropertyOptional({ example: '华东门店' })
  @IsOptional()
  @IsString({ message: 'name must be a string' })
  @MaxLength(64, { message: 'name must be at most 64 characters' })
  name?: string;

  @ApiPropertyOptional({ description: 'official accounts (required): the Token of 服务器配置; never shown again' })
  @ValidateIf((dto: CreateAccountDto) => dto.kind === 'official_account' || dto.token !== undefined)
  @IsString({ message: 'token must be a string' })
  @rule('token')
  token?: string;

  @ApiPropertyOptional({
    description: 'official accounts: the EncodingAESKey (safe/compatible mode); never shown again',
  })
  @IsOptional()
  @IsString({ message: 'aesKey must be a string' })
  @rule('aesKey')
  aesKey?: string;

  @ApiPropertyOptional({ description: 'official accounts: the reply to a new follower', example: '感谢关注！' })
  @IsOptional()
  @IsString({ message: 'welcomeText must be a string' })
  @MaxLength(2048, { message: 'welcomeText must be at most 2048 characters' })
  welcomeText?: string;

  @ApiPropertyOptional({ description: 'official accounts: the content of MP_verify_<content>.txt' })
  @IsOptional()
  @IsString({ message: 'domainVerify must be a string' })
  @rule('domainVerify')
  domainVerify?: string;

  @ApiPropertyOptional({ description: "official accounts: the team's backend that messages are forwarded to" })
  @IsOptional()
  @IsString({ message: 'forwardUrl must be a string' })
  @rule('forwardUrl')
  forwardUrl?: string;
}

/** `PATCH /admin/accounts/:appid`: any field but `kind` and `appid`; `null` clears an optional one. */
export class UpdateAccountDto {
  @ApiPropertyOptional({ description: 'cannot be changed: refused' })
  @IsEmpty({ message: 'kind cannot be changed' })
  kind?: unknown;

  @ApiPropertyOptional({ description: 'cannot be changed: refused' })
  @IsEmpty({ message: 'appid cannot be changed' })
  appid?: unknown;

  @ApiPropertyOptional()
  @ValidateIf((dto: UpdateAccountDto) => dto.secret !== undefined)
  @IsString({ message: 'secret must be a string' })
  @IsNotEmpty({ message: 'secret must not be empty' })
  @MaxLength(128, { message: 'secret must be at most 128 characters' })
  secret?: string;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsString({ message: 'name must be a string' })
  @MaxLength(64, { message: 'name must be at most 64 characters' })
  name?: string | null;

  @ApiPropertyOptional()
  @ValidateIf((dto: UpdateAccountDto) => dto.token !== undefined)
  @IsString({ message: 'token must be a string' })
  @rule('token')
  token?: string;

  @ApiPropertyOptional({
    nullable: true,
    description: 'a new key keeps the one it replaces for decryption for 24 hours; null: plaintext mode only',
  })
  @IsOptional()
  @IsString({ message: 'aesKey must be a string' })
  @rule('aesKey')
  aesKey?: string | null;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsString({ message: 'welcomeText must be a string' })
  @MaxLength(2048, { message: 'welcomeText must be at most 2048 characters' })
  welcomeText?: string | null;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsString({ message: 'domainVerify must be a string' })
  @rule('domainVerify')
  domainVerify?: string | null;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsString({ message: 'forwardUrl must be a string' })
  @rule('forwardUrl')
  forwardUrl?: string | null;
}

/** What the admin API shows of an account: never its secret, Token or EncodingAESKey. */
export class AccountViewDto {
  @ApiProperty({ example: 'wx2b7e5c0a9d3f4e61', nullable: true, type: String, description: 'null: env, no AppID' })
  appid: string | null;

  @ApiProperty({ enum: ACCOUNT_KINDS })
  kind: AccountKind;

  @ApiProperty({ nullable: true, type: String })
  name: string | null;

  @ApiProperty({ enum: ['env', 'api'], description: 'env: from the WECHAT_* variables (read-only here)' })
  source: AccountSource;

  @ApiProperty({ description: 'whether an EncodingAESKey is set (safe/compatible mode possible)' })
  encrypted: boolean;

  @ApiProperty({ nullable: true, type: String })
  forwardUrl: string | null;

  @ApiPropertyOptional({ description: 'official accounts: the URL to enter in 服务器配置' })
  webhookUrl?: string;

  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'null for env accounts' })
  createdAt: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'null for env accounts' })
  updatedAt: string | null;
}
