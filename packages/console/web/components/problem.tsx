// Every failure the console shows, in the API's own terms: problem+json title, detail and code.
import { ApiError } from '../api-error.ts';
import { SignInError } from '../auth/errors.ts';

export function describeError(error: unknown): { title: string; detail: string; code: string } {
  if (error instanceof ApiError || error instanceof SignInError) {
    return { title: error.title, detail: error.message, code: error.code };
  }
  if (error instanceof TypeError) {
    return { title: 'Server unreachable', detail: error.message, code: 'network' };
  }
  return { title: 'Unexpected error', detail: error instanceof Error ? error.message : String(error), code: 'console' };
}

export function Problem({ error }: { error: unknown }) {
  const { title, detail, code } = describeError(error);
  return (
    <div class="problem" role="alert">
      <strong>{title}</strong>
      <p>{detail}</p>
      <p class="problem-code">
        code <code>{code}</code>
      </p>
    </div>
  );
}
