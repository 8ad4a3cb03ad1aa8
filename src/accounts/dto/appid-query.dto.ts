import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { ACCOUNT_RULES } from 'src/accounts/account-rules';

/** `?appid=` of the routes that act for one account; left out: the default account of that kind. */
export class AccountQueryDto {
  @ApiPropertyOptional({
    description: 'The account; left out: the env account of that kind, else the only one',
    example: 'wx1234567890abcdef',
  })
  @IsOptional()
  @IsString({ message: 'appid must be a single string' })
  @Matches(ACCOUNT_RULES.appid.pattern, { message: `appid ${ACCOUNT_RULES.appid.message}` })
  appid?: string;
}
