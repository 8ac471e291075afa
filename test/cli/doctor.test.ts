import { describe, expect, it } from "vitest";
import type { EnvironmentReport } from "../../src/index.js";
import { tune } from "../support/cli.js";
import { referencePython } from "../support/reference-python.js";

describe("tune doctor", () => {
  it("reports Node, the Python interpreter it would use, and the engines", async () => {
    const result = await tune(["doctor", "--json"], { env: { TUNE_PYTHON: referencePython } });
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as EnvironmentReport;
    expect(report.node.version).toBe(process.versions.node);
    expect(report.node.supported).toBe(true);
    expect(report.python.interpreter).toEqual({ command: referencePython, source: "TUNE_PYTHON" });
    expect(report.python.python).toMatch(/^3\.\d+\.\d+$/);
    expect(Object.keys(report.python.packages)).toEqual(
      expect.arrayContaining(["torch", "transformers", "peft", "bitsandbytes", "flash_attn", "liger_kernel"]),
    );
    expect(report.engines.tfjs).toEqual({
      available: true,
      detail: "Llama-family and BERT-family models, LoRA; WebAssembly (SIMD) backend",
    });
    // The venv npm test prepares has the bridge's packages, so the torch engine can run, on the CPU.
    expect(report.engines.torch).toEqual({
      available: true,
      detail: expect.stringMatching(
        /^PyTorch \S+ on the CPU, no bitsandbytes \(4\/8-bit uses the built-in NF4\/int8\), no FlashAttention-2 \(packed rows attend example by example through SDPA\), no Liger kernels$/,
      ),
    });
  });

  it("names a broken interpreter instead of failing", async () => {
    const result = await tune(["doctor"], { env: { TUNE_PYTHON: "/nonexistent/python" } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^python\s+missing\s+\/nonexistent\/python \(from TUNE_PYTHON\)/m);
    expect(result.stdout).toContain("set TUNE_PYTHON");
  });
});
