import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { openSafetensors, writeSafetensors } from "../../src/adapter/index.js";
import { referencePython } from "../support/reference-python.js";
import { TENSORS, values } from "../support/safetensors-tensors.js";
import { tempDir } from "../support/temp-dir.js";

describe("safetensors", () => {
  it("interoperates with the reference safetensors library in both directions", async () => {
    const dir = tempDir();
    writeSafetensors(
      join(dir, "ours.safetensors"),
      TENSORS.filter((t) => t.dtype !== "BF16"),
    );
    const script = `
import json, sys, numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open
d = sys.argv[1]
ours = load_file(d + "/ours.safetensors")
with safe_open(d + "/ours.safetensors", "np") as f:
    meta = f.metadata()
print(json.dumps({k: [str(v.dtype), list(v.shape), v.astype(np.float64).ravel().tolist()] for k, v in ours.items()} | {"__metadata__": meta}))
save_file({"a": np.arange(6, dtype=np.float32).reshape(2, 3) / 3, "b": np.array([0.5, -1.25], dtype=np.float16), "c": np.array([9, -9], dtype=np.int64)}, d + "/theirs.safetensors", metadata={"format": "pt"})
`;
    const result = await execa(referencePython, ["-c", script, dir]);
    const seen = JSON.parse(result.stdout) as Record<string, [string, number[], number[]]> & {
      __metadata__: Record<string, string>;
    };
    expect(seen.__metadata__).toEqual({ format: "pt" });
    expect(seen["model.embed.weight"]?.[0]).toBe("float32");
    expect(seen["model.embed.weight"]?.[1]).toEqual([4, 6]);
    expect(seen["model.embed.weight"]?.[2]).toEqual(Array.from(values));
    expect(seen["lm_head.weight"]?.[0]).toBe("float16");
    expect(seen["position_ids"]?.[2]).toEqual([0, 1, -7]);
    const theirs = openSafetensors(join(dir, "theirs.safetensors"));
    expect(Array.from(theirs.readFloat32("a"))).toEqual(
      Array.from(Float32Array.from([0, 1, 2, 3, 4, 5].map((x) => x / 3))),
    );
    expect(Array.from(theirs.readFloat32("b"))).toEqual([0.5, -1.25]);
    expect(theirs.tensors.get("c")).toMatchObject({ dtype: "I64", shape: [2] });
    theirs.close();
  });
});
