import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { FastLaneExplorer } from 'src/common/http/fast-lane.explorer';
import { RequestHooks } from 'src/common/http/request-hooks';

/**
 * The HTTP platform's side in the module graph: the app's RequestHooks (inject them to add work around every
 * request) and the explorer that serves `@FastLaneRoute()` controller methods in the fast lane.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [RequestHooks, FastLaneExplorer],
  exports: [RequestHooks],
})
export class HttpPlatformModule {}
