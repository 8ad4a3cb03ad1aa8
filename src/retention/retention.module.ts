import { Module } from '@nestjs/common';
import { RetentionRegistry } from 'src/retention/retention.registry';
import { RetentionService } from 'src/retention/retention.service';

/**
 * Retention: a module registers what may be deleted from its own table (RetentionRegistry, in its constructor or
 * onModuleInit), and RetentionService deletes it in batches, on one instance at a time.
 */
@Module({
  providers: [RetentionRegistry, RetentionService],
  exports: [RetentionRegistry, RetentionService],
})
export class RetentionModule {}
