import { Module } from '@nestjs/common';

/** The official account's webhook (issue #4). */
@Module({})
export class WebhookModule {}
