import { SingleBar, Presets } from "cli-progress";
import type { PrepareStage } from "../data/index.js";
import type { StepProgress } from "../engine/index.js";
import type { DownloadProgress } from "../hub/index.js";
import { visibleControls } from "./output.js";

const LABELS: Record<PrepareStage, string> = {
  hash: "hashing data",
  read: "reading data",
  tokenize: "tokenizing",
  write: "writing",
};
const SHOW_AFTER_MS = 1_000;

/**
 * A progress callback that draws a bar on a terminal for any stage that takes longer than a
 * second, and stays silent otherwise (pipes, CI, quick stages).
 */
export function progressBar(enabled: boolean): {
  update: (stage: PrepareStage, done: number, total: number) => void;
  download: (progress: DownloadProgress) => void;
  stop: () => void;
} {
  let stage: PrepareStage | null = null;
  let started = 0;
  let bar: SingleBar | null = null;
  const download = transferBar(enabled, "downloading the model");
  const stop = () => {
    download.stop();
    bar?.stop();
    bar = null;
  };
  return {
    download: download.update,
    update(next, done, total) {
      if (!enabled) return;
      if (next !== stage) {
        stop();
        stage = next;
        started = Date.now();
      }
      if (!bar && Date.now() - started > SHOW_AFTER_MS && total > 0) {
        bar = new SingleBar(
          {
            format: `${LABELS[next]} [{bar}] {value}/{total} {eta_formatted}`,
            stream: process.stderr,
            hideCursor: true,
          },
          Presets.shades_classic,
        );
        bar.start(total, done);
      }
      bar?.update(done);
    },
    stop,
  };
}

/**
 * A live bar per epoch on a terminal: step, loss, learning rate, tokens/s and ETA, redrawn
 * every step. Lines printed meanwhile go through `above`, which lifts the bar out of their way.
 */
export function trainingBar(enabled: boolean): {
  tick: (progress: StepProgress) => void;
  above: (print: () => void) => void;
  stop: () => void;
} {
  let bar: SingleBar | null = null;
  let epoch = -1;
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  return {
    tick(progress) {
      if (!enabled) return;
      if (progress.epoch !== epoch || !bar) {
        stop();
        epoch = progress.epoch;
        bar = new SingleBar(
          {
            format: `epoch ${progress.epoch + 1} [{bar}] {value}/{total}  step {step}/{steps}  loss {loss}  lr {lr}  {tps} tok/s  ETA {eta_formatted}`,
            stream: process.stderr,
            hideCursor: true,
          },
          Presets.shades_classic,
        );
        bar.start(progress.stepsPerEpoch, progress.stepInEpoch - 1, payload(progress));
      }
      bar.update(progress.stepInEpoch, payload(progress));
    },
    above(print) {
      const wasShowing = bar !== null;
      stop();
      print();
      if (wasShowing) epoch = -1;
    },
    stop,
  };
}

function payload(progress: StepProgress) {
  return {
    step: progress.step,
    steps: progress.total,
    loss: progress.loss.toFixed(4),
    lr: progress.lr.toExponential(2),
    tps: Math.round(progress.tokensPerSecond),
  };
}

function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A bar for bytes moving to or from the Hub: done/total, bytes/s and the current file. */
export function transferBar(
  enabled: boolean,
  label: string,
): { update: (progress: { file: string; done: number; total: number }) => void; stop: () => void } {
  let bar: SingleBar | null = null;
  let started = 0;
  return {
    update({ file: named, done, total }) {
      if (!enabled || total === 0) return;
      // A Hub's file name, printed past guardedOutput.
      const file = visibleControls(named);
      if (!bar) {
        started = Date.now();
        bar = new SingleBar(
          { format: `${label} [{bar}] {moved}/{size} {speed}/s {file}`, stream: process.stderr, hideCursor: true },
          Presets.shades_classic,
        );
        bar.start(total, 0, { moved: formatBytes(0), size: formatBytes(total), speed: formatBytes(0), file });
      }
      const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
      bar.update(done, {
        moved: formatBytes(done),
        size: formatBytes(total),
        speed: formatBytes(done / seconds),
        file,
      });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
