import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TensorToWrite } from "../adapter/index.js";
import { publishFolder, temporaryFolderFor } from "../files/index.js";
import { seededNormal } from "./seeded-normal.js";

export interface BuiltinBuild {
  name: string;
  /** Bumped when the built model changes, so old cache folders are rebuilt. */
  version: number;
  seed: number;
  /** Writes the model's files into `dir`, a fresh temporary folder. */
  write(dir: string): void;
}

/**
 * `<cacheRoot>/builtin/<name>`, built once into a temporary folder and renamed into place, so
 * a build that dies half-way is never used; rebuilt when its marker names another version.
 */
export function builtinFolder(cacheRoot: string, build: BuiltinBuild): string {
  const dir = join(cacheRoot, "builtin", build.name);
  const marker = join(dir, "tune-builtin.json");
  if (existsSync(marker) && (JSON.parse(readFileSync(marker, "utf8")) as { version: number }).version === build.version)
    return dir;
  rmSync(dir, { recursive: true, force: true });
  const temporary = temporaryFolderFor(dir);
  build.write(temporary);
  writeFileSync(
    join(temporary, "tune-builtin.json"),
    `${JSON.stringify({ name: build.name, version: build.version, seed: build.seed })}\n`,
  );
  publishFolder(temporary, dir, "tune-builtin.json");
  return dir;
}

/**
 * Float32 tensors for a built-in model's weights: `normal` draws N(0, std²) with the next seed
 * of the sequence (so adding a tensor at the end changes no earlier one), `filled` a constant.
 */
export function seededTensors(firstSeed: number, std: number) {
  let seed = firstSeed;
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  return {
    normal: (name: string, shape: number[]): TensorToWrite => ({
      name,
      dtype: "F32",
      shape,
      data: seededNormal(size(shape), std, seed++),
    }),
    filled: (name: string, shape: number[], value: number): TensorToWrite => ({
      name,
      dtype: "F32",
      shape,
      data: new Float32Array(size(shape)).fill(value),
    }),
  };
}
