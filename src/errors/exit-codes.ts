/** Process exit codes, documented in the README; scripts rely on them. */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  user: 2,
  gateFailed: 3,
  environment: 4,
  interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
