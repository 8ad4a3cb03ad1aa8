import { Module } from '@nestjs/common';
import { SecretSealer } from 'src/common/sealing/secret-sealer';
import { IdentityModule } from 'src/identity/identity.module';
import { MiniProgramClient } from 'src/mini-program/mini-program.client';
import { MiniProgramController } from 'src/mini-program/mini-program.controller';
import { MiniProgramService } from 'src/mini-program/mini-program.service';
import { TokenModule } from 'src/token/token.module';
import { WeChatModule } from 'src/wechat/wechat.module';

@Module({
  imports: [WeChatModule, TokenModule, IdentityModule],
  controllers: [MiniProgramController],
  providers: [MiniProgramService, MiniProgramClient, SecretSealer],
})
export class MiniProgramModule {}
