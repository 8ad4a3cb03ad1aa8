import { Module } from '@nestjs/common';
import { JssdkController } from 'src/jssdk/jssdk.controller';
import { JssdkService } from 'src/jssdk/jssdk.service';
import { TokenModule } from 'src/token/token.module';

/** `GET /jssdk/config`: `wx.config` signatures for H5 pages, with the tickets of TokenModule. */
@Module({
  imports: [TokenModule],
  controllers: [JssdkController],
  providers: [JssdkService],
})
export class JssdkModule {}
