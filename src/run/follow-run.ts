import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PreparedData } from "../data/index.js";
import { engineFor, engineForResume, type ClusterNode, type EngineChoice } from "../engine/index.js";
import { writeFileAtomic } from "../files/index.js";
import type { CompletePlan } from "../recipe/index.js";
import type { RunOptions, RunResult } from "./run-recipe.js";
import { soundCheckpoints } from "./sound-checkpoints.js";

/**
 * A node other than 0 of a multi-node run: it trains its share and writes nothing in the run
 * directory, which node 0 alone holds (no lock, no plan.json, no events, no checkpoints). Its
 * plan and micro-batch order go to a folder of its own, removed at the end. It resumes from the
 * checkpoint it finds where node 0 writes (a shared filesystem); the worker refuses to train
 * unless every node found the same one and prepared the same data.
 */
export async function followRun(
  plan: CompletePlan,
  modelDir: string,
  prepared: PreparedData,
  choice: EngineChoice,
  node: ClusterNode,
  options: RunOptions,
): Promise<RunResult> {
  const resumeFrom = options.resume ?? soundCheckpoints(plan, modelDir).valid[0]?.dir ?? null;
  const engine = resumeFrom ? engineForResume(choice, plan, resumeFrom) : choice;
  options.onStart?.({
    plan,
    modelDir,
    prepared,
    engine,
    resumeFrom,
    skipped: [],
    movedAside: null,
    tookOverLock: null,
    node,
  });
  const workDir = mkdtempSync(join(tmpdir(), `tune-node-${node.rank}-`));
  try {
    writeFileAtomic(join(workDir, "plan.json"), JSON.stringify(plan, null, 2));
    const result = await (
      await engineFor(engine.name)
    ).train(plan, modelDir, prepared, {
      node,
      workDir,
      resumeFrom: resumeFrom ?? undefined,
      shouldStop: options.shouldStop,
      onStep: options.onStep,
      emit: (event) => options.onEvent?.(event),
    });
    return {
      plan,
      prepared,
      movedAside: null,
      engine,
      checkpoint: result.checkpoint,
      resumedFrom: resumeFrom,
      skipped: [],
      stopped: result.stopped,
      selection: null,
    };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
