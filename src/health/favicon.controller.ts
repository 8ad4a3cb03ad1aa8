import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

/**
 * `/favicon.ico`: 204, cached for a day. Every browser asks for it on every page; a 404 each time would fill the
 * access log with errors that are not.
 */
@ApiExcludeController()
@Controller('favicon.ico')
export class FaviconController {
  @Get()
  @HttpCode(204)
  favicon(@Res({ passthrough: true }) res: FastifyReply): void {
    void res.header('cache-control', 'public, max-age=86400');
  }
}
