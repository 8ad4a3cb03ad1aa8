import { plainToInstance } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  Validate,
  ValidateIf,
  ValidationArguments,
  validateSync,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { parseAllowedHosts } from 'src/jssdk/page-url';
import { ACCOUNT_RULES } from 'src/accounts/account-rules';

const DATA_KEY_PATTERN = /^([A-Za-z0-9+/]{43}=|[A-Za-z0-9_-]{43}=?|[0-9a-fA-F]{64})$/;
const URL_PATTERN = /^https?:\/\/[^\s/?#]+(:\d+)?(\/[^\s?#]*)?$/;

/** A comma-separated list of `host` or `host:port`; the message names the first bad entry. */
@ValidatorConstraint({ name: 'allowedHosts' })
class AllowedHostsConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return this.problem(value) === undefined;
  }

  defaultMessage(args: ValidationArguments): string {
    const problem = this.problem(args.value) ?? 'invalid';
    return `must be a comma-separated list of host or host:port, e.g. h5.example.com,localhost:3000; ${problem}`;
  }

  private problem(value: unknown): string | undefined {
    if (typeof value !== 'string') {
      return 'not text';
    }
    try {
      parseAllowedHosts(value);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }
}

/** Every variable of the contract, validated once at start-up (NestJS `validate()` config). */
export class EnvironmentVariables {
  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV?: string;

  @IsOptional()
  @Min(0)
  @Max(65535)
  @IsInt({ message: '$property must be a whole number' })
  PORT?: number;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsOptional()
  @IsString()
  PGLITE_DIR?: string;

  @IsOptional()
  @Matches(URL_PATTERN, { message: 'must be an http(s):// base URL without query, e.g. https://wx.example.com' })
  PUBLIC_BASE_URL?: string;

  @IsOptional()
  @Matches(URL_PATTERN, { message: 'must be an http(s):// base URL' })
  WECHAT_API_BASE?: string;

  @IsOptional()
  @Matches(URL_PATTERN, { message: 'must be an http(s):// base URL' })
  WECHAT_OPEN_BASE?: string;

  @IsOptional()
  @Matches(ACCOUNT_RULES.appid.pattern, { message: ACCOUNT_RULES.appid.message })
  WECHAT_OA_APPID?: string;

  @IsOptional()
  @IsString()
  WECHAT_OA_SECRET?: string;

  @IsOptional()
  @Matches(ACCOUNT_RULES.token.pattern, { message: ACCOUNT_RULES.token.message })
  WECHAT_OA_TOKEN?: string;

  @IsOptional()
  @Matches(ACCOUNT_RULES.aesKey.pattern, { message: ACCOUNT_RULES.aesKey.message })
  WECHAT_OA_AES_KEY?: string;

  @IsOptional()
  @Matches(ACCOUNT_RULES.aesKey.pattern, { message: ACCOUNT_RULES.aesKey.message })
  WECHAT_OA_AES_KEY_PREVIOUS?: string;

  @IsOptional()
  @IsString()
  WECHAT_OA_WELCOME_TEXT?: string;

  @IsOptional()
  @Matches(ACCOUNT_RULES.domainVerify.pattern, { message: ACCOUNT_RULES.domainVerify.message })
  WECHAT_OA_DOMAIN_VERIFY?: string;

  @IsOptional()
  @Matches(ACCOUNT_RULES.forwardUrl.pattern, { message: ACCOUNT_RULES.forwardUrl.message })
  WECHAT_OA_FORWARD_URL?: string;

  @ValidateIf(
    (env: EnvironmentVariables) => env.WECHAT_OA_FORWARD_URL !== undefined || env.FORWARD_SECRET !== undefined,
  )
  @Matches(/^\S{16,}$/, {
    message: 'must be at least 16 characters without spaces; required when WECHAT_OA_FORWARD_URL is set',
  })
  FORWARD_SECRET?: string;

  @IsOptional()
  @Min(0)
  @Max(4000)
  @IsInt({ message: '$property must be a whole number' })
  FORWARD_REPLY_WAIT_MS?: number;

  @IsOptional()
  @Min(1)
  @IsInt({ message: '$property must be a whole number' })
  MESSAGE_RETENTION_DAYS?: number;

  /** At least 3: at 2 the cut would sit on the 48-hour window's edge, and a skewed clock could drop a live row. */
  @IsOptional()
  @Min(3, { message: '$property must be at least 3 days (the 48-hour customer-service window reads these rows)' })
  @IsInt({ message: '$property must be a whole number of days' })
  FOLLOWER_ACTIVITY_RETENTION_DAYS?: number;

  @IsOptional()
  @Matches(ACCOUNT_RULES.appid.pattern, { message: ACCOUNT_RULES.appid.message })
  WECHAT_MP_APPID?: string;

  @IsOptional()
  @IsString()
  WECHAT_MP_SECRET?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[^\s,]{16,}(,[^\s,]{16,})*$/, {
    message: 'must be at least 16 characters without spaces, or several such keys separated by commas',
  })
  ADMIN_API_KEY?: string;

  @ValidateIf((env: EnvironmentVariables) => env.NODE_ENV === 'production' || env.DATA_ENCRYPTION_KEY !== undefined)
  @Matches(DATA_KEY_PATTERN, {
    message: 'must be 32 bytes as base64 (44 characters) or hex (64 characters); required when NODE_ENV=production',
  })
  DATA_ENCRYPTION_KEY?: string;

  @IsOptional()
  @Matches(DATA_KEY_PATTERN, { message: 'must be 32 bytes as base64 (44 characters) or hex (64 characters)' })
  DATA_ENCRYPTION_KEY_PREVIOUS?: string;

  @IsOptional()
  @Min(60)
  @IsInt({ message: '$property must be a whole number' })
  SESSION_TTL_SECONDS?: number;

  @IsOptional()
  @Min(100)
  @Max(60000)
  @IsInt({ message: '$property must be a whole number' })
  WECHAT_HTTP_TIMEOUT_MS?: number;

  @IsOptional()
  @Validate(AllowedHostsConstraint)
  JSSDK_ALLOWED_HOSTS?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  @IsOptional()
  @IsIn(['tap', 'scan'], { message: 'must be tap (confirm on the phone) or scan (the scan logs in)' })
  QR_LOGIN_CONFIRM?: string;

  @IsOptional()
  @IsString()
  @Matches(/^\S{16,}$/, { message: 'must be at least 16 characters without spaces' })
  METRICS_TOKEN?: string;

  @IsOptional()
  @IsIn(['true', 'false'], { message: 'must be true or false' })
  METRICS_ENABLED?: string;

  @IsOptional()
  @Min(0)
  @IsInt({ message: '$property must be a whole number (0 turns rate limits off)' })
  RATE_LIMIT_PER_MINUTE?: number;

  @IsOptional()
  @Min(1)
  @IsInt({ message: '$property must be a whole number of days' })
  WEBHOOK_RETENTION_DAYS?: number;

  @IsOptional()
  @Matches(/^[0-9A-Za-z.:%-]+$/, { message: 'must be an IP address or host name to listen on, e.g. 127.0.0.1 or ::' })
  HOST?: string;

  @IsOptional()
  @IsString()
  WEBHOOK_SPOOL_DIR?: string;

  /** A test hook (honoured only with NODE_ENV=test): see WebhookConfig.testHoldAfterClaimMs. */
  @IsOptional()
  @Min(0)
  @Max(600000)
  @IsInt({ message: '$property must be a whole number' })
  WEBHOOK_TEST_HOLD_AFTER_CLAIM_MS?: number;
}

const NUMERIC = new Set([
  'PORT',
  'SESSION_TTL_SECONDS',
  'WECHAT_HTTP_TIMEOUT_MS',
  'FORWARD_REPLY_WAIT_MS',
  'RATE_LIMIT_PER_MINUTE',
  'WEBHOOK_RETENTION_DAYS',
  'MESSAGE_RETENTION_DAYS',
  'FOLLOWER_ACTIVITY_RETENTION_DAYS',
  'WEBHOOK_TEST_HOLD_AFTER_CLAIM_MS',
]);

/**
 * Validates the environment; throws one line naming the first bad variable.
 * Empty strings count as unset, so a `.env` copied from `.env.example` with blanks still boots.
 */
export function validate(raw: Record<string, unknown>): EnvironmentVariables {
  const cleaned: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === '' || value === undefined) {
      continue;
    }
    cleaned[key] = NUMERIC.has(key) && /^-?\d+$/.test(String(value)) ? Number(value) : value;
  }
  const env = plainToInstance(EnvironmentVariables, cleaned);
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false, stopAtFirstError: true });
  if (errors.length > 0) {
    const first = errors[0];
    const reason = Object.values(first.constraints ?? {})[0] ?? 'is invalid';
    const shown = /SECRET|KEY|TOKEN|DATABASE_URL/.test(first.property) ? '' : ` (got "${String(first.value)}")`;
    throw new Error(`Invalid environment variable ${first.property}${shown}: ${reason}`);
  }
  return env;
}
