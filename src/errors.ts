/**
 * Errors that cross module boundaries. Each has a stable `code` so that transports can map
 * them to protocol answers without parsing messages, and a message written for the person
 * (or model) who has to fix the input.
 */

/** The caller's input is wrong; the message says what to change. Safe to show to clients. */
export class InputError extends Error {
  readonly code = 'invalid_input';
  override name = 'InputError';
}

/** The thing the caller named does not exist (in this tenant). Safe to show to clients. */
export class NotFoundError extends Error {
  readonly code = 'not_found';
  override name = 'NotFoundError';
}

/** A write would contradict stored data (for example an edit that duplicates another memory). */
export class ConflictError extends Error {
  readonly code = 'conflict';
  override name = 'ConflictError';
}

/** PostgreSQL cannot be reached or is not ready; the operation may succeed when retried. */
export class UnavailableError extends Error {
  readonly code = 'unavailable';
  override name = 'UnavailableError';
}

/** Configuration is invalid: reported as one line and a non-zero exit. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  override name = 'ConfigError';
}

export type SageError = InputError | NotFoundError | ConflictError | UnavailableError | ConfigError;

export function isSageError(err: unknown): err is SageError {
  return (
    err instanceof InputError ||
    err instanceof NotFoundError ||
    err instanceof ConflictError ||
    err instanceof UnavailableError ||
    err instanceof ConfigError
  );
}
