import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { WeChatHttpClient } from 'src/wechat/http/wechat-http.client';

/** The shared kernel: the only code that talks to WeChat's servers. Pure helpers (crypto, XML) need no module. */
@Module({
  imports: [HttpModule],
  providers: [WeChatHttpClient],
  exports: [WeChatHttpClient],
})
export class WeChatModule {}
