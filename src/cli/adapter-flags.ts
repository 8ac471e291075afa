/** The help texts of the flags every verb that reads an adapter shares, so they say the same thing. */
export const ADAPTER_ARGUMENT =
  "adapters/<run>/checkpoint-<step>, a run (its best checkpoint), a PEFT adapter folder, or a Hub adapter owner/name[@revision]";
export const RECIPE_FLAG =
  "for a PEFT adapter: the recipe whose data, template, labels and evaluation are used (its base and LoRA come from the adapter)";
export const BASE_FLAG = "for a PEFT adapter: the base model, instead of its base_model_name_or_path";
export const REVISION_FLAG = "for a Hub adapter: its branch, tag or commit (default main)";
