// node test/support/loaded-engines.mjs <tune arguments...>
// Runs the built CLI in this process, then writes on stderr, as its last line, the code modules of
// @tensorflow/* it loaded: "loaded-engines: [...]". The packages are CommonJS ("main"), so every
// one loaded is in require's cache; package.json manifests, which `tune doctor` reads for their
// versions, are not code and are left out.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { main } = await import("../../dist/cli/main.js");
process.exitCode = await main(["node", "tune", ...process.argv.slice(2)]);
const loaded = Object.keys(require.cache).filter((file) => file.includes("/@tensorflow/") && !file.endsWith(".json"));
process.stderr.write(`loaded-engines: ${JSON.stringify(loaded)}\n`);
