import type { RunPlan } from "../recipe/index.js";
import { cleanText } from "./clean-text.js";
import { dataError } from "./data-error.js";
import type { ChatMessage, Example } from "./example.js";
import type { SourceRow } from "./read/source-row.js";
import { GENERATED_PLACEHOLDERS, placeholdersOf } from "./template/placeholders.js";

export interface ExamplesFromFile {
  examples: Example[];
  /** Rows dropped because their text was empty after cleaning. */
  droppedEmpty: number;
}

const SHOWN_BAD_ROWS = 5;

/** The columns a plan reads: its text, label and messages columns and every template placeholder. */
export function requiredColumns(plan: RunPlan): {
  text: string | null;
  label: string | null;
  messages: string | null;
  template: string[];
  subgroups: string[];
} {
  const { columns } = plan.data;
  const template = plan.template;
  const templateTexts = [
    template?.prompt,
    template?.completion && template.prompt ? template.completion : undefined,
    template?.few_shot?.example,
  ];
  // `{label}` is the label name in classification tasks, and a plain column otherwise.
  const generated = (name: string) =>
    GENERATED_PLACEHOLDERS.has(name) && (name !== "label" || plan.data.labels !== null);
  const placeholders = templateTexts.flatMap((t) => (t ? placeholdersOf(t) : [])).filter((name) => !generated(name));
  const chat = plan.task === "causal-lm" && !template?.prompt;
  return {
    text: chat || (template?.prompt && !placeholders.includes(columns.text)) ? null : columns.text,
    label: plan.data.labels ? columns.label : null,
    messages: chat ? columns.messages : null,
    template: [...new Set(placeholders)],
    subgroups: plan.eval.subgroups ?? [],
  };
}

/**
 * Turns source rows into examples: checks the columns, cleans the text, maps labels to ids
 * and applies value maps. Bad rows end the read with a message naming the file and line.
 */
export async function buildExamples(
  plan: RunPlan,
  file: string,
  rows: AsyncIterable<SourceRow>,
): Promise<ExamplesFromFile> {
  const required = requiredColumns(plan);
  const labels = plan.data.labels;
  const labelIds = new Map(labels?.map((name, id) => [name, id]));
  const labelMap = plan.data.label_map ?? {};
  const examples: Example[] = [];
  const badLabels: Array<{ line: number; value: string }> = [];
  const seenValues = new Set<string>();
  let droppedEmpty = 0;
  let checkedColumns = false;

  for await (const row of rows) {
    if (!checkedColumns) {
      checkColumns(file, row, required);
      checkedColumns = true;
    }
    const fields = fieldsOf(row.values, plan.data.value_maps ?? {});
    if (required.text !== null) {
      const text = cleanText(fields[required.text] ?? "", plan.data.clean);
      if (text === "" && plan.data.clean.drop_empty) {
        droppedEmpty++;
        continue;
      }
      fields[required.text] = text;
    }
    let label: number | null = null;
    if (required.label !== null) {
      const raw = row.values[required.label];
      const value = raw === null || raw === undefined ? "" : String(raw);
      const mapped = labelMap[value] ?? value;
      const id =
        labelIds.get(mapped) ??
        (/^\d+$/.test(value) && Number(value) < (labels?.length ?? 0) && !(value in labelMap)
          ? Number(value)
          : undefined);
      if (id === undefined) {
        seenValues.add(value);
        if (badLabels.length < SHOWN_BAD_ROWS) badLabels.push({ line: row.line, value });
        continue;
      }
      fields[required.label] = labels?.[id] ?? value;
      label = id;
    }
    const messages = required.messages === null ? null : chatMessages(file, row, required.messages);
    const idColumn = plan.data.columns.id;
    const id = idColumn ? String(row.values[idColumn] ?? row.line) : String(row.line);
    examples.push({ id, source: { file, line: row.line }, fields, label, messages });
  }

  if (badLabels.length > 0) {
    const first = badLabels[0] as { line: number; value: string };
    const rowsText = badLabels.map((b) => `line ${b.line}: "${b.value}"`).join(", ");
    throw dataError(
      file,
      first.line,
      `labels not in the recipe's label list (${rowsText}${seenValues.size > badLabels.length ? ", ..." : ""}); unknown values seen: ${[
        ...seenValues,
      ]
        .slice(0, 10)
        .map((v) => `"${v}"`)
        .join(", ")}`,
      `The recipe's labels are ${labels?.map((l) => `"${l}"`).join(", ")}. Add the missing ones to data.labels, or map raw values with data.label_map.`,
      required.label ?? undefined,
    );
  }
  if (!checkedColumns) throw dataError(file, undefined, "the file holds no rows", "Add at least one example.");
  return { examples, droppedEmpty };
}

function checkColumns(file: string, row: SourceRow, required: ReturnType<typeof requiredColumns>): void {
  const present = Object.keys(row.values);
  const wanted: Array<[string, string]> = [];
  if (required.text) wanted.push([required.text, "data.columns.text"]);
  if (required.label) wanted.push([required.label, "data.columns.label"]);
  if (required.messages) wanted.push([required.messages, "data.columns.messages"]);
  for (const name of required.template) wanted.push([name, "a template placeholder"]);
  for (const name of required.subgroups) wanted.push([name, "eval.subgroups"]);
  for (const [name, why] of wanted) {
    if (!present.includes(name)) {
      throw dataError(
        file,
        row.line,
        `missing column "${name}" (${why}); the file has: ${present.join(", ")}`,
        why === "a template placeholder"
          ? `Rename the placeholder {${name}} in the template to one of the columns.`
          : why === "eval.subgroups"
            ? "List columns the file has in eval.subgroups."
            : `Point ${why} at one of the file's columns.`,
      );
    }
  }
}

function fieldsOf(
  values: Record<string, unknown>,
  valueMaps: Record<string, Record<string, string>>,
): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    const text =
      value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
    fields[name] = valueMaps[name]?.[text] ?? text;
  }
  return fields;
}

const ROLES = new Set(["system", "user", "assistant"]);

/** A conversation must be system? then user/assistant alternating, with an assistant turn to learn. */
function chatMessages(file: string, row: SourceRow, column: string): ChatMessage[] {
  const value = row.values[column];
  const hint =
    'A conversation is a list of {"role": "system"|"user"|"assistant", "content": "..."}: an optional system message, then user and assistant turns alternating, starting with user.';
  if (!Array.isArray(value) || value.length === 0)
    throw dataError(file, row.line, `"${column}" is not a list of messages`, hint, column);
  const messages: ChatMessage[] = [];
  for (const [i, message] of value.entries()) {
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== "string" || !ROLES.has(role) || typeof content !== "string") {
      throw dataError(
        file,
        row.line,
        `message ${i + 1} needs a role (system, user or assistant) and text content`,
        hint,
        column,
      );
    }
    messages.push({ role: role as ChatMessage["role"], content });
  }
  const turns = messages[0]?.role === "system" ? messages.slice(1) : messages;
  turns.forEach((message, i) => {
    const expected = i % 2 === 0 ? "user" : "assistant";
    if (message.role !== expected) {
      throw dataError(
        file,
        row.line,
        `roles do not alternate: message ${i + 1 + messages.length - turns.length} is "${message.role}", expected "${expected}"`,
        hint,
        column,
      );
    }
  });
  if (!turns.some((m) => m.role === "assistant"))
    throw dataError(file, row.line, "the conversation has no assistant turn to learn from", hint, column);
  return messages;
}
