export { adapterRef, type AdapterRef } from "./adapter-ref.js";
export { planFromAdapter } from "./start-adapter.js";
export { adapterBase, type AdapterContents } from "./foreign-plan.js";
export {
  adapterSha256,
  openTarget,
  readForeignAdapter,
  targetEngine,
  type ForeignAdapter,
  type Target,
  type TargetOptions,
} from "./open-target.js";
