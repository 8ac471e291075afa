import type { z } from "zod";
import { formatFieldPath, type Problem, type SourceLocation } from "../errors/index.js";
import { didYouMean } from "./did-you-mean.js";
import { keysAt, schemaAt, sectionsWithKey } from "./json-schema.js";

export interface Locator {
  locateValue(path: readonly PropertyKey[]): SourceLocation;
  locateKey(path: readonly PropertyKey[], key: string): SourceLocation;
}

type Issue = z.core.$ZodIssue;

/** Turns zod's issues into problems a user can act on: where, which field, expected vs found. */
export function describeIssues(issues: readonly Issue[], locator: Locator): Problem[] {
  return issues.flatMap((issue) => describeIssue(issue, locator));
}

function describeIssue(issue: Issue, locator: Locator): Problem[] {
  const path = issue.path;
  const field = formatFieldPath(path);
  const problem = (message: string, hint?: string): Problem => ({
    code: `recipe-${issue.code.replaceAll("_", "-")}`,
    message: `${field || "recipe"}: ${message}`,
    field: field || undefined,
    location: locator.locateValue(path),
    ...(hint ? { hint } : {}),
  });

  if (issue.code === "unrecognized_keys") return issue.keys.map((key) => unknownKey(path, key, locator));
  if (issue.input === undefined) {
    const description = schemaAt(path)?.description;
    return [problem("required field is missing", description ? `Add \`${field}\`: ${description}` : undefined)];
  }
  switch (issue.code) {
    case "invalid_type":
      return [problem(`expected ${describeType(issue.expected)}, found ${describeValue(issue.input)}`)];
    case "invalid_value": {
      const options = issue.values.map((v) => JSON.stringify(v));
      const suggestion =
        typeof issue.input === "string" ? didYouMean(issue.input, issue.values.map(String)) : undefined;
      // A long list (the Hub's licenses) is the reference's to show, not one error line's.
      const expected =
        options.length === 1
          ? options[0]
          : options.length > 12
            ? `one of ${options.length} values (the recipe reference lists them)`
            : `one of ${options.join(", ")}`;
      return [
        problem(
          `expected ${expected}, found ${describeValue(issue.input)}`,
          suggestion ? `Did you mean "${suggestion}"?` : undefined,
        ),
      ];
    }
    case "too_small":
    case "too_big":
      return [problem(`expected ${describeBound(issue)}, found ${describeValue(issue.input)}`)];
    case "invalid_format":
    case "custom":
      return [problem(`${issue.message}; found ${describeValue(issue.input)}`)];
    case "invalid_union":
      return describeUnion(issue, locator);
    default:
      return [problem(`${issue.message}; found ${describeValue(issue.input)}`)];
  }
}

function unknownKey(path: readonly PropertyKey[], key: string, locator: Locator): Problem {
  const here = formatFieldPath(path);
  const known = keysAt(path);
  const suggestion = didYouMean(key, known);
  const elsewhere = sectionsWithKey(key).filter((s) => s !== here);
  let hint: string;
  if (elsewhere.length > 0)
    hint = `\`${key}\` belongs under \`${elsewhere.map((s) => s || "the top level").join("` or `")}\`.`;
  else if (suggestion) hint = `Did you mean \`${suggestion}\`?`;
  else hint = `Known fields here: ${known.join(", ")}.`;
  return {
    code: "recipe-unknown-key",
    message: `${here ? `${here}.` : ""}${key}: unknown field`,
    field: here ? `${here}.${key}` : key,
    location: locator.locateKey(path, key),
    hint,
  };
}

/** A union fails in every branch; report the branch that matches the value's shape, or all expectations. */
function describeUnion(issue: Extract<Issue, { code: "invalid_union" }>, locator: Locator): Problem[] {
  const nested = issue.errors.find((branch) => branch.some((e) => e.path.length > 0));
  if (nested) {
    return describeIssues(
      nested.map((e) => ({ ...e, path: [...issue.path, ...e.path] }) as Issue),
      locator,
    );
  }
  const expectations = issue.errors.flatMap((branch) =>
    branch.map((e) => {
      if (e.code === "invalid_value") return e.values.map((v) => JSON.stringify(v)).join(" or ");
      if (e.code === "invalid_type") return describeType(e.expected);
      if (e.code === "too_small" || e.code === "too_big") return describeBound(e);
      return e.message;
    }),
  );
  const field = formatFieldPath(issue.path);
  return [
    {
      code: "recipe-invalid-value",
      message: `${field}: expected ${[...new Set(expectations)].join(" or ")}, found ${describeValue(issue.input)}`,
      field,
      location: locator.locateValue(issue.path),
    },
  ];
}

function describeBound(issue: Extract<Issue, { code: "too_small" | "too_big" }>): string {
  const small = issue.code === "too_small";
  const limit = small
    ? (issue as { minimum: number | bigint }).minimum
    : (issue as { maximum: number | bigint }).maximum;
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case "array":
    case "set":
      return small ? `at least ${limit} item${limit === 1 ? "" : "s"}` : `at most ${limit} items`;
    case "string":
      if (issue.code === "too_small" && Number(limit) === 1) return "a non-empty string";
      if ((issue as { exact?: boolean }).exact) return `exactly ${limit} character${limit === 1 ? "" : "s"}`;
      return small ? `at least ${limit} characters` : `at most ${limit} characters`;
    default: {
      const op = small ? (inclusive ? ">=" : ">") : inclusive ? "<=" : "<";
      return `a number ${op} ${limit}`;
    }
  }
}

function describeType(expected: string): string {
  switch (expected) {
    case "int":
      return "a whole number";
    case "array":
      return "a list";
    case "object":
    case "record":
      return "a mapping (key: value)";
    case "boolean":
      return "true or false";
    default:
      return `a ${expected}`;
  }
}

/** How a user would recognise the value they wrote. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? "" : "s"}`;
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return `${JSON.stringify(shown)} (text)`;
  }
  if (typeof value === "number" && !Number.isInteger(value)) return `${value} (a fractional number)`;
  return `${String(value)} (${typeof value === "boolean" ? "true/false" : "a number"})`;
}
