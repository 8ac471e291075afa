// Writes recipes/data/stance/survey.csv: 240 fictional survey respondents for the survey
// simulation recipe, coded as a survey file is (a codebook turns codes into words):
//   idno, agea (age), gndr (1 man, 2 woman), eduyrs (years of education),
//   region (R1 capital … R5 southern plains), vote (1-5 parties, 77 refusal, 88 don't know).
// Vote shares depend on age, education and region the way such data usually do, drawn with a
// fixed seed, so the file is the same every time.
//   node scripts/make-survey-data.mjs
import { writeFileSync } from "node:fs";

let state = 20241124;
const random = () => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 2 ** 32;
};
const pick = (weights) => {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (const [key, weight] of Object.entries(weights)) {
    r -= weight;
    if (r <= 0) return key;
  }
  return Object.keys(weights).at(-1);
};

const REGIONS = { R1: 0.3, R2: 0.2, R3: 0.18, R4: 0.17, R5: 0.15 };
const rows = ["idno,agea,gndr,eduyrs,region,vote"];
for (let i = 0; i < 240; i++) {
  const age = 18 + Math.floor(random() * 70);
  const gender = random() < 0.51 ? 2 : 1;
  const education = Math.max(8, Math.min(21, Math.round(9 + random() * 5 + (age < 45 ? 3 : 0) + random() * 4)));
  const region = pick(REGIONS);
  const young = age < 35;
  const educated = education >= 16;
  const urban = region === "R1";
  const vote = pick({
    1: 26 + (age > 55 ? 12 : 0) + (region === "R5" ? 8 : 0),
    2: 24 + (educated ? 0 : 8) + (region === "R4" ? 6 : 0),
    3: 12 + (young ? 12 : 0) + (educated ? 8 : 0) + (urban ? 6 : 0),
    4: 9 + (educated ? 7 : 0) + (urban ? 4 : 0),
    5: 8 + (educated ? 0 : 5) + (region === "R3" ? 6 : 0),
    77: 5,
    88: 5 + (young ? 4 : 0),
  });
  rows.push([1001 + i, age, gender, education, region, vote].join(","));
}
writeFileSync(new URL("../recipes/data/stance/survey.csv", import.meta.url), `${rows.join("\n")}\n`);
console.log(`wrote ${rows.length - 1} respondents`);
