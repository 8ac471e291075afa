/**
 * Slurm's compressed host list (`SLURM_JOB_NODELIST`), expanded: `gpu[01-03,7],login-a` is
 * gpu01, gpu02, gpu03, gpu7, login-a. Ranges keep their zero padding; a name with several
 * bracket groups (`rack[1-2]-n[1-2]`) expands to every combination, the last group fastest, as
 * `scontrol show hostnames` does.
 */
export function expandHostlist(list: string): string[] {
  return splitOutsideBrackets(list.trim()).flatMap(expandName);
}

function splitOutsideBrackets(list: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] === "[") depth++;
    else if (list[i] === "]") depth--;
    else if (list[i] === "," && depth === 0) {
      names.push(list.slice(start, i));
      start = i + 1;
    }
  }
  names.push(list.slice(start));
  return names.filter((name) => name !== "");
}

function expandName(name: string): string[] {
  const group = /\[([^\]]*)\]/.exec(name);
  if (!group) return [name];
  const head = name.slice(0, group.index);
  const tails = expandName(name.slice(group.index + group[0].length));
  return (group[1] ?? "")
    .split(",")
    .flatMap((part) => rangeValues(part).flatMap((value) => tails.map((tail) => `${head}${value}${tail}`)));
}

function rangeValues(part: string): string[] {
  const range = /^(\d+)-(\d+)$/.exec(part);
  if (!range) return [part];
  const [, from = "", to = ""] = range;
  const values: string[] = [];
  for (let n = Number(from); n <= Number(to); n++) values.push(String(n).padStart(from.length, "0"));
  return values;
}
