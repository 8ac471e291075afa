import { SingleBar, Presets } from "cli-progress";
import type { PrepareStage } from "../data/index.js";

const LABELS: Record<PrepareStage, string> = { hash: "hashing data", read: "reading data", tokenize: "tokenizing", write: "writing" };
const SHOW_AFTER_MS = 1_000;

/**
 * A progress callback that draws a bar on a terminal for any stage that takes longer than a
 * second, and stays silent otherwise (pipes, CI, quick stages).
 */
export function progressBar(enabled: boolean): { update: (stage: PrepareStage, done: number, total: number) => void; stop: () => void } {
  let stage: PrepareStage | null = null;
  let started = 0;
  let bar: SingleBar | null = null;
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  return {
    update(next, done, total) {
      if (!enabled) return;
      if (next !== stage) {
        stop();
        stage = next;
        started = Date.now();
      }
      if (!bar && Date.now() - started > SHOW_AFTER_MS && total > 0) {
        bar = new SingleBar({ format: `${LABELS[next]} [{bar}] {value}/{total} {eta_formatted}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
        bar.start(total, done);
      }
      bar?.update(done);
    },
    stop,
  };
}
