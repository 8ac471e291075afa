import { readDatasetSplit, type PreparedData, type TextTokenizer } from "../data/index.js";

/** The per-split length table printed before training and by `tune validate`. */
export function formatDataStats(prepared: PreparedData): string {
  const lines = [
    `data ${prepared.cached ? "reused from cache" : "tokenized"}: ${prepared.dir}` +
      (prepared.droppedEmpty > 0 ? ` (${prepared.droppedEmpty} rows with empty text dropped)` : ""),
    `  ${"split".padEnd(6)} ${"examples".padStart(8)}  ${"tokens min/median/p95/max".padEnd(26)} ${"truncated".padStart(9)}  labels`,
  ];
  for (const warning of prepared.warnings) lines.push(`  warning: ${warning}`);
  for (const [name, split] of Object.entries(prepared.splits)) {
    const s = split.manifest.stats;
    const tokens = `${s.tokens.min}/${s.tokens.median}/${s.tokens.p95}/${s.tokens.max}`;
    const labels = s.labels
      ? Object.entries(s.labels)
          .map(([label, n]) => `${label} ${n}`)
          .join(", ")
      : `${s.trained_tokens} trained tokens`;
    lines.push(
      `  ${name.padEnd(6)} ${String(s.examples).padStart(8)}  ${tokens.padEnd(26)} ${String(s.truncated).padStart(9)}  ${labels}`,
    );
    if (s.dropped_no_trained_tokens > 0) {
      lines.push(
        `  warning: ${s.dropped_no_trained_tokens} ${name} examples had no trained token left after truncation and were dropped; raise data.max_length`,
      );
    }
  }
  return lines.join("\n");
}

/**
 * The first `count` examples of the first split, decoded, with the tokens the model is trained
 * on between ⟦ and ⟧ (or the class label for classifiers): the label-mask preview.
 */
export function formatExamples(prepared: PreparedData, tokenizer: TextTokenizer, count: number): string {
  const first = Object.values(prepared.splits)[0];
  if (!first) return "no examples";
  const split = readDatasetSplit(first.dir);
  const out: string[] = [];
  for (let i = 0; i < Math.min(count, split.manifest.count); i++) {
    const ids = [...split.ids(i)];
    const labels = split.labels(i);
    const classId = split.classId(i);
    const header = `--- example ${i + 1} (${split.manifest.split}, id ${split.exampleIds[i]}, ${ids.length} tokens`;
    if (labels) {
      const trained = [...labels].filter((l) => l !== -100).length;
      out.push(
        `${header}, ${trained} trained${classId !== null && classId >= 0 ? `, label ${split.manifest.label_names?.[classId]}` : ""})`,
      );
      out.push(markTrained(ids, labels, tokenizer));
    } else {
      out.push(`${header}, label ${classId !== null ? split.manifest.label_names?.[classId] : "-"})`);
      out.push(tokenizer.decode(ids));
    }
  }
  return out.join("\n");
}

function markTrained(ids: number[], labels: Int32Array, tokenizer: TextTokenizer): string {
  let text = "";
  let start = 0;
  for (let i = 1; i <= ids.length; i++) {
    const trained = labels[start] !== -100;
    if (i === ids.length || (labels[i] !== -100) !== trained) {
      const piece = tokenizer.decode(ids.slice(start, i));
      text += trained ? `⟦${piece}⟧` : piece;
      start = i;
    }
  }
  return text;
}
