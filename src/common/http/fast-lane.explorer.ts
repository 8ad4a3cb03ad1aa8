import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, HttpAdapterHost, MetadataScanner } from '@nestjs/core';
import { FAST_LANE_ROUTE, FastLane, FastLaneRouteMetadata, LaneHandler } from 'src/common/http/fast-lane';
import { RequestHooks } from 'src/common/http/request-hooks';

/** `/` + the controller's path + the route's own, without doubled or trailing slashes. */
function joinPath(controllerPath: unknown, routePath: string): string {
  if (controllerPath !== undefined && typeof controllerPath !== 'string') {
    throw new Error('A controller with fast-lane routes has one path (a string)');
  }
  const path = `/${controllerPath ?? ''}/${routePath}`.replace(/\/{2,}/g, '/');
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * Finds the `@FastLaneRoute()` methods of every controller at start-up and serves them in the app's fast lane, with
 * the app's RequestHooks. The lane is the one createHttpAdapter() (src/app.setup.ts) put under the HTTP server.
 */
@Injectable()
export class FastLaneExplorer implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly hooks: RequestHooks,
  ) {}

  onModuleInit(): void {
    const lane = FastLane.of(this.adapterHost.httpAdapter?.getHttpServer());
    lane?.useHooks(this.hooks);
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || !wrapper.metatype) {
        continue;
      }
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = instance[name] as LaneHandler;
        const route = Reflect.getMetadata(FAST_LANE_ROUTE, handler) as FastLaneRouteMetadata | undefined;
        if (!route) {
          continue;
        }
        if (!lane) {
          throw new Error(`${wrapper.name}.${name} needs the HTTP adapter of createHttpAdapter() (src/app.setup.ts)`);
        }
        lane.route({
          ...route,
          path: joinPath(Reflect.getMetadata(PATH_METADATA, wrapper.metatype), route.path),
          handler: handler.bind(instance),
          logger: new Logger(String(wrapper.name)),
        });
      }
    }
  }
}
