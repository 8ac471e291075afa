import { createRequire } from "node:module";

/** tune's own version, from package.json (recorded in every plan and checkpoint). */
export const TUNE_VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;
