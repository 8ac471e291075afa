import { unsafeUniformIntDistribution, xoroshiro128plus } from "pure-rand";

/** `count` draws from N(0, std²), the same on every machine for a seed (Box-Muller on xoroshiro128+). */
export function seededNormal(count: number, std: number, seed: number): Float32Array {
  const random = xoroshiro128plus(seed);
  const uniform = () => (unsafeUniformIntDistribution(0, 0x3fffffff, random) + 0.5) / 0x40000000;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(uniform())) * std;
    const angle = 2 * Math.PI * uniform();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}
