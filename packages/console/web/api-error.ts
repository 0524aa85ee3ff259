// A refused call as the console shows it: problem+json's title, detail and code, or the nearest
// fields of an OAuth error ({error, error_description}) or of a bare status line.

/** A refused API call, as problem+json describes it (or as close as a non-problem answer allows). */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly code: string;
  constructor(status: number, title: string, detail: string, code: string) {
    super(detail);
    this.status = status;
    this.title = title;
    this.code = code;
  }
}

export async function apiErrorOf(response: Response): Promise<ApiError> {
  const fallback = `${response.status} ${response.statusText}`.trim();
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's HTML page): the status line is all there is.
  }
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);
  return new ApiError(
    response.status,
    text(body.title) ?? text(body.error) ?? fallback,
    text(body.detail) ?? text(body.error_description) ?? text(body.message) ?? fallback,
    text(body.code) ?? text(body.error) ?? String(response.status),
  );
}
