// The sign-in's own errors (not the API's problem+json), shown the same way.

/** Why a sign-in did not complete, in the problem+json shape the console shows for every error. */
export class SignInError extends Error {
  readonly title: string;
  readonly code: string;
  constructor(title: string, detail: string, code: string) {
    super(detail);
    this.title = title;
    this.code = code;
  }
}
