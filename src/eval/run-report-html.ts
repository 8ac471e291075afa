import type { ClassificationReport } from "./classification-report.js";
import type { DistributionComparison } from "./distribution.js";
import type { SplitEvaluation } from "./evaluate-predictions.js";
import type { RunReport } from "./run-report.js";

const BLUE = "#1f77b4";
const ORANGE = "#ff7f0e";
const GREEN = "#2ca02c";
const RED = "#d62728";

/**
 * The run's report as one self-contained HTML page (inline CSS and SVG, no scripts, nothing
 * fetched): state and best checkpoint with its gates, the loss and learning-rate curves, the
 * metrics of every checkpoint, and for the best checkpoint the classification report,
 * confusion matrix and predicted-against-true label shares of each evaluated split.
 */
export function runReportHtml(report: RunReport): string {
  const { plan, best, history, checkpoints } = report;
  const losses = history.filter((h) => h.loss !== undefined).map((h) => [h.step, h.loss as number] as const);
  const rates = history
    .filter((h) => h.learning_rate !== undefined)
    .map((h) => [h.step, h.learning_rate as number] as const);
  const evalLoss = checkpoints.flatMap((c) =>
    plan.eval.selection_split && c.splits[plan.eval.selection_split]?.loss !== undefined
      ? [[c.step, c.splits[plan.eval.selection_split]?.loss as number] as const]
      : [],
  );
  const metric = plan.eval.best_metric;
  const metricSeries = plan.eval.splits.map((split, i) => ({
    name: `${split}.${metric}`,
    color: [BLUE, ORANGE, GREEN][i % 3] as string,
    points: checkpoints.flatMap((c) =>
      c.splits[split]?.[metric] === undefined ? [] : [[c.step, c.splits[split]?.[metric] as number] as const],
    ),
  }));
  const sections = [
    `<h1>${escape(plan.name)}</h1>`,
    `<p class="meta">${escape(plan.task)} · ${escape(plan.model.base)} · LoRA r ${plan.lora.r}, alpha ${plan.lora.alpha} · ${escape(stateLine(report))}</p>`,
    best?.checkpoint
      ? `<p><strong>Best checkpoint:</strong> step ${best.step}${best.value !== null && best.split ? ` — ${escape(best.metric)} on ${escape(best.split)} = ${best.value.toFixed(4)}` : " (the newest)"}</p>`
      : "",
    best && best.gates.length > 0
      ? `<ul class="gates">${best.gates.map((g) => `<li class="${g.passed ? "pass" : "fail"}">${escape(g.text)}: ${g.passed ? "passed" : "failed"} (${g.value === null ? "not evaluated" : g.value.toFixed(4)})</li>`).join("")}</ul>`
      : "",
    `<h2>Training</h2><div class="charts">${lineChart("Loss", [
      { name: "train loss", color: BLUE, points: losses },
      { name: `${plan.eval.selection_split ?? "eval"} loss`, color: RED, points: evalLoss },
    ])}${lineChart("Learning rate", [{ name: "lr", color: GREEN, points: rates }])}${lineChart(`${metric} per checkpoint`, metricSeries)}</div>`,
    checkpointTable(report),
    ...Object.entries(report.bestEvaluations).flatMap(([split, evaluation]) =>
      evaluation?.report
        ? [
            `<h2>${escape(split)} — best checkpoint (${evaluation.examples} examples${evaluation.unparsed ? `, ${evaluation.unparsed} answers matched no label` : ""})</h2><div class="split">${reportTable(evaluation.report)}${confusionTable(evaluation.report)}${evaluation.distribution ? distributionChart(evaluation.distribution) : ""}${subgroupTables(evaluation.subgroups ?? {})}</div>`,
          ]
        : [],
    ),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(plan.name)} — tune report</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px 32px;color:#222;background:#fff}
h1{margin:0 0 4px}h2{margin:28px 0 8px;font-size:1.15em}.meta{color:#555;margin:0 0 12px}
table{border-collapse:collapse;margin:8px 16px 8px 0;font-variant-numeric:tabular-nums}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
tr.best td{background:#eef6ee;font-weight:600}.charts,.split{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.gates .pass{color:${GREEN}}.gates .fail{color:${RED};font-weight:600}svg text{font-size:11px;fill:#333}
</style></head><body>
${sections.filter((s) => s !== "").join("\n")}
</body></html>
`;
}

function stateLine(report: RunReport): string {
  const state = report.state;
  switch (state.kind) {
    case "finished":
      return `finished at step ${state.step}`;
    case "stopped":
      return `stopped at step ${state.step} (re-run to resume)`;
    case "running":
      return `running (step ${state.step})`;
    case "failed":
      return `failed at step ${state.step}: ${state.why}`;
    default:
      return state.kind;
  }
}

interface Series {
  name: string;
  color: string;
  points: ReadonlyArray<readonly [number, number]>;
}

/** An SVG line chart with axes, ticks at the extremes and a legend. */
function lineChart(title: string, series: Series[]): string {
  const shown = series.filter((s) => s.points.length > 0);
  if (shown.length === 0) return "";
  const [width, height, left, right, top, bottom] = [420, 240, 56, 12, 24, 46];
  const all = shown.flatMap((s) => s.points);
  const [minX, maxX] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [minY, maxY] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (minY === maxY) [minY, maxY] = [minY - 1e-9 - Math.abs(minY) * 0.05, maxY + 1e-9 + Math.abs(maxY) * 0.05];
  const x = (v: number) => left + ((v - minX) / Math.max(maxX - minX, 1e-12)) * (width - left - right);
  const y = (v: number) => top + (1 - (v - minY) / (maxY - minY)) * (height - top - bottom);
  const label = (v: number) => (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(3) : v.toExponential(1));
  const lines = shown.map((s) =>
    s.points.length === 1
      ? `<circle cx="${x(s.points[0]?.[0] ?? 0).toFixed(1)}" cy="${y(s.points[0]?.[1] ?? 0).toFixed(1)}" r="3" fill="${s.color}"/>`
      : `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" ")}"/>`,
  );
  const legend = shown.map(
    (s, i) =>
      `<rect x="${left + i * 130}" y="${height - 14}" width="10" height="10" fill="${s.color}"/><text x="${left + 14 + i * 130}" y="${height - 5}">${escape(s.name)}</text>`,
  );
  return `<svg width="${width}" height="${height}" role="img" aria-label="${escape(title)}"><text x="${left}" y="14" font-weight="600">${escape(title)}</text>
<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="#999"/><line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="#999"/>
<text x="${left - 4}" y="${top + 4}" text-anchor="end">${label(maxY)}</text><text x="${left - 4}" y="${height - bottom}" text-anchor="end">${label(minY)}</text>
<text x="${left}" y="${height - bottom + 14}">step ${minX}</text><text x="${width - right}" y="${height - bottom + 14}" text-anchor="end">${maxX}</text>
${lines.join("\n")}
${legend.join("")}</svg>`;
}

function checkpointTable(report: RunReport): string {
  const { plan, checkpoints, best } = report;
  const columns = plan.eval.splits
    .flatMap((split) => [...new Set([...plan.eval.metrics, "loss" as const])].map((metric) => [split, metric] as const))
    .filter(([split, metric]) => checkpoints.some((c) => c.splits[split]?.[metric] !== undefined));
  if (columns.length === 0) return "";
  const head = `<tr><th>step</th>${columns.map(([split, metric]) => `<th>${escape(split)}.${escape(metric)}</th>`).join("")}</tr>`;
  const rows = checkpoints.map(
    (c) =>
      `<tr${c.dir === best?.checkpoint ? ' class="best"' : ""}><td>${c.step}${c.dir === best?.checkpoint ? " (best)" : ""}</td>${columns.map(([split, metric]) => `<td>${c.splits[split]?.[metric]?.toFixed(4) ?? "–"}</td>`).join("")}</tr>`,
  );
  return `<h2>Checkpoints</h2><table>${head}${rows.join("")}</table>`;
}

function reportTable(report: ClassificationReport): string {
  const row = (name: string, p: number, r: number, f: number, support: number) =>
    `<tr><td>${escape(name)}</td><td>${p.toFixed(4)}</td><td>${r.toFixed(4)}</td><td>${f.toFixed(4)}</td><td>${support}</td></tr>`;
  const perClass = report.labels.map((label) => {
    const c = report.perClass[label];
    return c ? row(label, c.precision, c.recall, c.f1, c.support) : "";
  });
  return `<table><tr><th></th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr>${perClass.join("")}
<tr><td>accuracy</td><td></td><td></td><td>${report.accuracy.toFixed(4)}</td><td>${report.examples}</td></tr>
${row("macro avg", report.macro.precision, report.macro.recall, report.macro.f1, report.examples)}${row("weighted avg", report.weighted.precision, report.weighted.recall, report.weighted.f1, report.examples)}</table>`;
}

/** Confusion matrix as a table shaded by each row's share (true labels down, predicted across). */
function confusionTable(report: ClassificationReport): string {
  const rows = report.labels.map((label, i) => {
    const counts = report.confusion[i] ?? [];
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    return `<tr><th>${escape(label)}</th>${counts.map((n) => `<td style="background:rgba(31,119,180,${(0.08 + (0.8 * n) / total).toFixed(3)})">${n}</td>`).join("")}</tr>`;
  });
  return `<table class="confusion"><tr><th>true \\ predicted</th>${report.labels.map((l) => `<th>${escape(l)}</th>`).join("")}</tr>${rows.join("")}</table>`;
}

/** Per subgroup column: each value's size and distances between true and predicted label shares. */
function subgroupTables(subgroups: NonNullable<SplitEvaluation["subgroups"]>): string {
  return Object.entries(subgroups)
    .map(
      ([column, groups]) =>
        `<table><caption>Label shares by ${escape(column)}</caption><tr><th>${escape(column)}</th><th>examples</th><th>TV</th><th>JS</th></tr>${groups.map((g) => `<tr><td>${escape(g.value)}</td><td>${g.examples}</td><td>${g.distribution.totalVariation.toFixed(3)}</td><td>${g.distribution.jsDistance.toFixed(3)}</td></tr>`).join("")}</table>`,
    )
    .join("");
}

/** Grouped bars of true and predicted label shares, with total variation and Jensen-Shannon distance. */
function distributionChart(distribution: DistributionComparison): string {
  const labels = distribution.labels;
  const [width, height, left, bottom, top] = [Math.max(260, 70 * labels.length + 60), 220, 40, 40, 30];
  const band = (width - left - 10) / labels.length;
  const bar = (share: number, i: number, offset: number, color: string) => {
    const h = share * (height - top - bottom);
    return `<rect x="${(left + i * band + offset).toFixed(1)}" y="${(height - bottom - h).toFixed(1)}" width="${(band / 2 - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"/>`;
  };
  const bars = labels.map(
    (label, i) =>
      `${bar(distribution.gold[label] ?? 0, i, 2, BLUE)}${bar(distribution.predicted[label] ?? 0, i, band / 2, ORANGE)}<text x="${(left + i * band + band / 2).toFixed(1)}" y="${height - bottom + 14}" text-anchor="middle">${escape(label)}</text>`,
  );
  return `<svg width="${width}" height="${height}" role="img" aria-label="label distribution"><text x="${left}" y="14" font-weight="600">Label shares: TV ${distribution.totalVariation.toFixed(3)}, JS ${distribution.jsDistance.toFixed(3)}</text>
<line x1="${left}" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}" stroke="#999"/>
${bars.join("")}
<rect x="${left}" y="${height - 14}" width="10" height="10" fill="${BLUE}"/><text x="${left + 14}" y="${height - 5}">true</text><rect x="${left + 70}" y="${height - 14}" width="10" height="10" fill="${ORANGE}"/><text x="${left + 84}" y="${height - 5}">predicted</text></svg>`;
}

function escape(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}
