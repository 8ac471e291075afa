/** One reply's generation settings and the token ids that end it. */
export interface ReplyRequest {
  ids: number[];
  stopIds: number[];
  maxNewTokens: number;
  temperature: number;
  topP: number;
}

/** A checkpoint loaded once that continues prompts, one reply at a time (`tune chat`). */
export interface ReplyGenerator {
  reply(request: ReplyRequest): Promise<number[]>;
  close(): Promise<void>;
}
