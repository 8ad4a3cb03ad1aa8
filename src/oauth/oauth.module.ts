import { Module } from '@nestjs/common';

/** Web authorization in the WeChat browser (issue #5). */
@Module({})
export class OAuthModule {}
