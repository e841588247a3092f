import { Logger } from '@nestjs/common';
import { AbstractLogger, type LogLevel, type LogMessage, type QueryRunner } from 'typeorm';

/**
 * TypeORM's lines (the migrations it runs, its warnings) through the process's Nest logger, so
 * they are JSON lines like every other, instead of TypeORM's own `console.log`. Which kinds are
 * logged is TypeORM's `logging` option; query parameters never are (they carry personal data).
 */
export class TypeOrmLogger extends AbstractLogger {
  private readonly logger = new Logger('TypeORM');

  protected writeLog(level: LogLevel, logMessage: LogMessage | string | number | Array<LogMessage | string | number>, queryRunner?: QueryRunner): void {
    const options = { highlightSql: false, appendParameterAsComment: false };
    for (const message of this.prepareLogMessages(logMessage, options, queryRunner)) {
      const text = message.prefix ? `${message.prefix} ${message.message}` : String(message.message);
      switch (message.type ?? level) {
        case 'warn':
        case 'query-slow':
          this.logger.warn(text);
          break;
        case 'error':
        case 'query-error':
          this.logger.error(text);
          break;
        case 'query':
          this.logger.debug(text);
          break;
        default:
          this.logger.log(text);
      }
    }
  }
}
