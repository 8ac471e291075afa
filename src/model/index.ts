export { locateModel, type LocatedModel, type ModelOptions } from "./locate-model.js";
export {
  classifierHead,
  isKnownModelType,
  linearModules,
  readModelConfig,
  type HeadTensor,
  type LinearModule,
  type ModelConfig,
} from "./model-config.js";
