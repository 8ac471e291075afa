/** One chat turn as chat templates expect it. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A row after column mapping, cleaning and label mapping; what templates and splits work on. */
export interface Example {
  /** The id column's value, or the row's line/number in its file. */
  id: string;
  /** Where the row came from, for messages. */
  source: { file: string; line: number };
  /** Every column as text (after value maps), available to templates as `{column}`. */
  fields: Record<string, string>;
  /** Class id (index into the recipe's labels), for classification tasks. */
  label: number | null;
  messages: ChatMessage[] | null;
}
