import { execa } from "execa";

export interface Gpu {
  name: string;
  memoryMiB: number;
}

/** NVIDIA GPUs as nvidia-smi reports them; empty when there is no driver. Never throws. */
export async function probeGpus(): Promise<Gpu[]> {
  const result = await execa("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"], {
    reject: false,
    timeout: 20_000,
  });
  if (result.exitCode !== 0 || result.failed) return [];
  return result.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [name = "", memory = "0"] = line.split(",").map((part) => part.trim());
      return { name, memoryMiB: Number(memory) };
    });
}
