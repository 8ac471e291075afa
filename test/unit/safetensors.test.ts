import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  float32ToBf16,
  float32ToF16,
  bf16ToFloat32,
  f16ToFloat32,
  openModelWeights,
  openSafetensors,
  writeModelWeights,
  writeSafetensors,
  type TensorToWrite,
} from "../../src/adapter/index.js";
import { isTuneError } from "../../src/index.js";
import { TENSORS, values } from "../support/safetensors-tensors.js";
import { tempDir } from "../support/temp-dir.js";

describe("safetensors", () => {
  it("round-trips every dtype with aligned tensors and a padded header", () => {
    const file = join(tempDir(), "m.safetensors");
    writeSafetensors(file, TENSORS);
    const bytes = readFileSync(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    const opened = openSafetensors(file);
    expect(opened.metadata).toEqual({ format: "pt" });
    expect([...opened.tensors.keys()].sort()).toEqual(TENSORS.map((t) => t.name).sort());
    for (const info of opened.tensors.values())
      expect(
        (info.begin - 8 - headerLength) %
          ({ F32: 4, BF16: 2, F16: 2, I64: 8, U8: 1 } as Record<string, number>)[info.dtype]!,
      ).toBe(0);
    expect(opened.readFloat32("model.embed.weight")).toEqual(values);
    expect(opened.readFloat32("model.norm.weight")).toEqual(bf16ToFloat32(float32ToBf16(values)));
    expect(Array.from(opened.readFloat32("lm_head.weight"))).toEqual(Array.from(f16ToFloat32(float32ToF16(values))));
    expect(new BigInt64Array(opened.readBytes("position_ids").slice().buffer)).toEqual(
      BigInt64Array.from([0n, 1n, -7n]),
    );
    expect(opened.tensors.get("lm_head.weight")?.shape).toEqual([2, 12]);
    opened.close();
  });

  it("converts to bf16 and fp16 with round-to-nearest-even like PyTorch", () => {
    expect(Array.from(float32ToBf16(Float32Array.from([1, -2, 1.00390625, 1.01171875, 3.0e38, Infinity])))).toEqual([
      0x3f80, 0xc000, 0x3f80, 0x3f82, 0x7f62, 0x7f80,
    ]);
    expect(Array.from(float32ToF16(Float32Array.from([1, -2, 65504, 70000, 6e-8, 1e-9, 0.1])))).toEqual([
      0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x2e66,
    ]);
    expect(Array.from(f16ToFloat32(Uint16Array.from([0x3c00, 0x0001, 0x7c00, 0xfc00])))).toEqual([
      1,
      2 ** -24,
      Infinity,
      -Infinity,
    ]);
  });

  it.each([
    ["truncated data", (b: Buffer) => b.subarray(0, b.length - 3), /the data ends at byte \d+ but the file has/],
    [
      "a header length past the end",
      (b: Buffer) => {
        const c = Buffer.from(b);
        c.writeBigUInt64LE(10_000_000n, 0);
        return c;
      },
      /header length 10000000 does not fit/,
    ],
    [
      "a header that is not JSON",
      (b: Buffer) => {
        const c = Buffer.from(b);
        c[9] = 0x7b;
        c[10] = 0x7b;
        return c;
      },
      /header is not JSON/,
    ],
    [
      "overlapping tensors",
      (b: Buffer) => Buffer.from(b.toString("latin1").replace('"data_offsets":[0,', '"data_offsets":[4,'), "latin1"),
      /overlaps|hole|bytes for shape/,
    ],
  ])("refuses a file with %s", (_, damage, message) => {
    const dir = tempDir();
    const file = join(dir, "m.safetensors");
    writeSafetensors(file, TENSORS);
    writeFileSync(file, damage(readFileSync(file)));
    let error: unknown;
    try {
      openSafetensors(file);
    } catch (caught) {
      error = caught;
    }
    expect(isTuneError(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it("shards a model like transformers and reads it back lazily", () => {
    const dir = tempDir();
    const big = Array.from({ length: 5 }, (_, i): TensorToWrite => ({
      name: `layers.${i}.weight`,
      dtype: "F32",
      shape: [100],
      data: Float32Array.from({ length: 100 }, (_, j) => i * 1000 + j),
    }));
    const files = writeModelWeights(dir, big, 900);
    expect(files).toEqual([
      "model-00001-of-00003.safetensors",
      "model-00002-of-00003.safetensors",
      "model-00003-of-00003.safetensors",
      "model.safetensors.index.json",
    ]);
    const index = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8")) as {
      metadata: { total_size: number };
      weight_map: Record<string, string>;
    };
    expect(index.metadata.total_size).toBe(2000);
    expect(index.weight_map["layers.4.weight"]).toBe("model-00003-of-00003.safetensors");
    const weights = openModelWeights(dir);
    expect(weights.names.sort()).toEqual(big.map((t) => t.name).sort());
    expect(weights.readFloat32("layers.3.weight")[7]).toBe(3007);
    weights.close();
    expect(writeModelWeights(tempDir(), big)).toEqual(["model.safetensors"]);
  });

  it("refuses pickle-only model folders", () => {
    const dir = tempDir({ "pytorch_model.bin": "not really", "config.json": "{}" });
    expect(() => openModelWeights(dir)).toThrow(
      /only pickle weights \(pytorch_model\.bin\), which tune refuses to load/,
    );
  });
});
