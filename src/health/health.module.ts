import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { FaviconController } from 'src/health/favicon.controller';
import { HealthController } from 'src/health/health.controller';

@Module({
  imports: [TerminusModule],
  controllers: [HealthController, FaviconController],
})
export class HealthModule {}
