import { InvalidArgumentError } from "commander";

/**
 * A flag's value as a whole number of at least `min`. Anything else is refused by commander
 * (exit 2) with the value as typed: `--max-steps abc` says "abc", not "NaN".
 */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const number = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number) || number < min)
      throw new InvalidArgumentError(`expected a whole number of ${min} or more, found "${value}".`);
    return number;
  };
}
