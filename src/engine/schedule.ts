/**
 * Learning rate at optimizer step `step` (0-based), as transformers' schedulers compute it:
 * linear warmup from 0, then linear decay to 0, half-cosine decay, or constant.
 */
export function learningRate(
  step: number,
  total: number,
  warmup: number,
  peak: number,
  kind: "linear" | "cosine" | "constant",
): number {
  if (step < warmup) return (peak * step) / Math.max(1, warmup);
  if (kind === "constant") return peak;
  const progress = (step - warmup) / Math.max(1, total - warmup);
  if (kind === "linear") return peak * Math.max(0, 1 - progress);
  return peak * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
