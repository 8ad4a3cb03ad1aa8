import { Module } from '@nestjs/common';
import { RetentionModule } from 'src/retention/retention.module';
import { IdentityService } from 'src/identity/identity.service';
import { MeController } from 'src/identity/me.controller';
import { SessionRepository } from 'src/identity/session.repository';
import { SessionRetention } from 'src/identity/session.retention';
import { SessionGuard } from 'src/identity/session.guard';
import { SessionService } from 'src/identity/session.service';
import { UserRepository } from 'src/identity/user.repository';

/** Users, WeChat identities and sessions: the store both login paths share. */
@Module({
  imports: [RetentionModule],
  controllers: [MeController],
  providers: [IdentityService, SessionService, SessionGuard, UserRepository, SessionRepository, SessionRetention],
  exports: [IdentityService, SessionService, SessionGuard],
})
export class IdentityModule {}
