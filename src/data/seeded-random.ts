import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from "pure-rand";

/**
 * Seeded randomness that gives the same sequence on every machine and Node version
 * (xoroshiro128+ from pure-rand; Math.random cannot be seeded).
 */
export function seededRandom(seed: number): RandomGenerator {
  return xoroshiro128plus(seed);
}

/** Fisher-Yates shuffle of a copy of `items`. */
export function shuffled<T>(items: readonly T[], random: RandomGenerator): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = unsafeUniformIntDistribution(0, i, random);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** A seed for one item derived from a base seed and the item's id (stable under reordering). */
export function derivedSeed(seed: number, key: string): number {
  let hash = seed >>> 0;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
