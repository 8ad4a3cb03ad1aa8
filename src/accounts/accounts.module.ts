import { Global, Module } from '@nestjs/common';
import { AccountRegistry } from 'src/accounts/account.registry';
import { AccountRepository } from 'src/accounts/account.repository';
import { AccountsAdminController } from 'src/accounts/accounts-admin.controller';
import { AccountsAdminService } from 'src/accounts/accounts-admin.service';
import { SecretSealer } from 'src/common/sealing/secret-sealer';

/** The accounts this deployment serves (env and API) and `/admin/accounts`. Global: every feature asks it. */
@Global()
@Module({
  controllers: [AccountsAdminController],
  providers: [AccountRegistry, AccountRepository, AccountsAdminService, SecretSealer],
  exports: [AccountRegistry],
})
export class AccountsModule {}
