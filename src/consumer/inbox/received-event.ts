/** An integration event that passed validation, as the consumer's handlers see it. */
export interface ReceivedEvent<TData = object> {
  eventId: string;
  type: string;
  streamId: string;
  sequence: number;
  time: string;
  data: TData;
}
