import { manifestProvenance } from "../checkpoint/index.js";
import { COMMIT } from "../hub/index.js";
import type { DataRole, DataSource, RunPlan } from "../recipe/index.js";

/**
 * A run's plan reading each Hub dataset at the commit the checkpoint was trained on, as its
 * manifest records: a branch (`revision: main`) that moved since must not change which rows
 * `tune eval` judges that checkpoint on, nor the few-shot examples `tune predict` draws. The
 * manifest is read like any input: only a commit id from it becomes a revision.
 */
export function atRecordedCommits(plan: RunPlan, checkpoint: string): RunPlan {
  const recorded = manifestProvenance(checkpoint)?.datasets;
  if (!Array.isArray(recorded) || recorded.length === 0) return plan;
  const pin = <T extends DataSource | null>(role: DataRole, source: T): T => {
    if (source === null || typeof source === "string") return source;
    const commit = (recorded as Array<Record<string, unknown>>).find(
      (entry) => entry.role === role && entry.repo === source.hub.repo,
    )?.commit;
    return (
      typeof commit === "string" && COMMIT.test(commit) ? { hub: { ...source.hub, revision: commit } } : source
    ) as T;
  };
  const { data } = plan;
  return {
    ...plan,
    data: {
      ...data,
      hub: data.hub ? pin("pool", { hub: data.hub }).hub : null,
      train: pin("train", data.train),
      eval: pin("eval", data.eval),
      test: pin("test", data.test),
    },
  };
}
