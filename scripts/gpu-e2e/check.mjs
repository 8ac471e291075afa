// The GPU proof, last step, back on this machine (README.md beside this file).
//
//   node scripts/gpu-e2e/check.mjs <folder with results.json and table.txt, or results.json>
//
// Prints run.py's table, then whether every scenario ran soundly (all its steps, finite losses,
// a gradient, padding-free loss equal to padded, PEFT's reload equal to the engine; whether the
// loss fell is told, not required), then each
// goal of issue 15 against the measurements: met, not met, or not measured. A --cpu-dry result
// is checked for soundness alone: its goals are the GPU's. Exit 0 when all is well, 1 when a
// scenario failed, was skipped or is unsound, 3 when a GPU result misses or lacks a goal.

import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

const GOALS = { tunedSpeedup: 1.3, seedSpeedup: 2, mfu: 0.4, estimateError: 0.15 };
/** The scenario the Trainer comparison runs in, and the 8B SFT row. */
const TRAINER_ROW = "trainer-1b";
const MFU_ROW = "collective-action";

const given = process.argv[2];
if (!given) {
  process.stderr.write("usage: node scripts/gpu-e2e/check.mjs <folder with results.json, or results.json>\n");
  process.exit(2);
}
const file = existsSync(given) && statSync(given).isDirectory() ? join(given, "results.json") : given;
const results = JSON.parse(readFileSync(file, "utf8"));
if (results.format !== "tune-gpu-e2e-results") {
  process.stderr.write(`${file} is not run.py's results.json\n`);
  process.exit(2);
}
const tableFile = join(dirname(file), "table.txt");
if (existsSync(tableFile)) console.log(`${readFileSync(tableFile, "utf8").trimEnd()}\n`);

const byName = new Map(results.scenarios.map((s) => [s.name, s]));
let unsound = false;
console.log("soundness:");
for (const name of results.planned) {
  const problems = soundness(
    byName.get(name),
    results.skipped.find((s) => s.name === name),
  );
  unsound ||= problems.length > 0;
  console.log(
    `  ${problems.length === 0 ? "ok  " : "FAIL"} ${name}${trend(byName.get(name))}${problems.length ? `: ${problems.join("; ")}` : ""}`,
  );
}

console.log(`\ngoals of issue 15${results.dry ? " (GPU only: this is a --cpu-dry result)" : ""}:`);
const goals = measureGoals();
for (const goal of goals)
  console.log(
    `  ${(results.dry ? "GPU only" : goal.state).padEnd(12)} ${goal.text}${goal.value ? `: ${goal.value}` : ""}`,
  );
const missed = !results.dry && goals.some((goal) => goal.state !== "met");
process.exit(unsound ? 1 : missed ? 3 : 0);

/** What is wrong with one scenario's record; nothing when it ran soundly. */
function soundness(scenario, skipped) {
  if (skipped) return [`skipped: ${skipped.why}`];
  if (!scenario) return ["no record"];
  const problems = scenario.failures.map((f) => `${f.stage} failed: ${f.error}`);
  if (scenario.trainer_skipped) problems.push(`Trainer comparison skipped: ${scenario.trainer_skipped}`);
  const training = scenario.training;
  if (!training) return problems;
  if (training.steps !== scenario.steps) problems.push(`${training.steps} of ${scenario.steps} steps`);
  if (!training.losses.every(Number.isFinite)) problems.push("a loss is not finite");
  if (!training.grad_norms.every((norm) => Number.isFinite(norm) && norm > 0))
    problems.push("a gradient norm is 0 or not finite");
  if (scenario.packing && !scenario.packing.match)
    problems.push(`padding-free loss differs from padded by ${scenario.packing.relative_difference.toExponential(1)}`);
  if (scenario.reload && !scenario.reload.match)
    problems.push(
      `PEFT's reload differs from the engine's logits by ${scenario.reload.max_abs_difference.toExponential(1)}`,
    );
  return problems;
}

/** Whether the loss fell, first third of the steps against the last: told, not required (random weights, few steps). */
function trend(scenario) {
  const losses = scenario?.training?.losses ?? [];
  if (losses.length === 0) return "";
  const third = Math.max(1, Math.floor(losses.length / 3));
  const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const [first, last] = [mean(losses.slice(0, third)), mean(losses.slice(-third))];
  return ` (loss ${first.toFixed(3)} -> ${last.toFixed(3)}, ${last < first ? "falling" : "not falling"})`;
}

function measureGoals() {
  const goals = [];
  const ways = byName.get(TRAINER_ROW)?.trainer?.ways;
  const way = (first) => ways?.find((w) => w.way.split(" ")[0] === first);
  const [ours, seed, tuned] = ["tune", "seed-style", "tuned"].map(way);
  const ratio = (against, goal, text) => {
    const value = ours && against ? ours.tokens_per_s / against.tokens_per_s : null;
    goals.push(judge(text, value, value !== null && value >= goal, (v) => `${v.toFixed(2)}x`));
  };
  ratio(tuned, GOALS.tunedSpeedup, `1B: tune's engine >= ${GOALS.tunedSpeedup}x the tuned Trainer's real tokens/s`);
  ratio(seed, GOALS.seedSpeedup, `1B: tune's engine >= ${GOALS.seedSpeedup}x the seed-style Trainer's real tokens/s`);
  const peaks = [ours, seed, tuned].map((w) => w?.peak_allocated_bytes ?? null);
  const memoryKnown = peaks.every((p) => p !== null);
  goals.push(
    judge(
      "1B: tune's engine at no more peak memory than either Trainer",
      memoryKnown ? peaks : null,
      memoryKnown && peaks[0] <= Math.min(peaks[1], peaks[2]),
      ([o, s, t]) => `${gb(o)} GB against ${gb(s)} (seed-style) and ${gb(t)} (tuned)`,
    ),
  );
  const training = byName.get(MFU_ROW)?.training;
  goals.push(
    judge(
      `8B SFT (${MFU_ROW}): >= ${GOALS.mfu * 100}% MFU against the measured bf16 peak`,
      training ?? null,
      training !== undefined && training.median_step_mfu >= GOALS.mfu,
      (t) => `${pct(t.median_step_mfu)} at the median step, ${pct(t.mfu)} over the run with its first step`,
    ),
  );
  for (const name of results.planned) {
    const memory = byName.get(name)?.memory;
    const error = memory?.estimate_error ?? null;
    goals.push(
      judge(
        `${name}: the memory estimate within ${GOALS.estimateError * 100}% of the measured peak`,
        error === null ? null : memory,
        error !== null && Math.abs(error) <= GOALS.estimateError,
        (m) =>
          `estimate ${gb(m.estimate_bytes)} GB, measured ${gb(m.peak_bytes)} GB (${m.estimate_error >= 0 ? "+" : ""}${pct(m.estimate_error)}); tensors at most ${gb(m.load_allocated_bytes)} GB loading, ${gb(m.train_allocated_bytes)} GB training`,
      ),
    );
  }
  return goals;
}

function judge(text, value, met, describe) {
  if (value === null) return { text, state: "not measured", value: "" };
  return { text, state: met ? "met" : "not met", value: describe(value) };
}

function gb(bytes) {
  return (bytes / 1e9).toFixed(2);
}

function pct(fraction) {
  return `${(100 * fraction).toFixed(1)}%`;
}
