import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { STORED_EVENT_COLUMNS, StoredEvent } from './stored-event';

@Injectable()
export class EventStreamReader {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The events of one aggregate, oldest first. */
  readStream(streamId: string): Promise<StoredEvent[]> {
    return this.dataSource.query(
      `SELECT ${STORED_EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version`,
      [streamId],
    );
  }
}
