/**
 * Why a run cannot start, in one line, before anything starts. Exit 2: the input is wrong (a
 * setting, a compose file that does not parse, a missing variable). Exit 3: the machine is not
 * ready (no Docker daemon, versions too old, an image missing, a port in use).
 */
export class PreflightError extends Error {
  readonly exitCode: 2 | 3

  constructor(message: string, exitCode: 2 | 3) {
    super(message)
    this.exitCode = exitCode
  }
}
