// Edge-generated errors are JSON with a stable code, never an exception page.
export function errorResponse(status: number, code: string, message: string, details?: string[]): Response {
  return Response.json(
    { error: { code, message, ...(details ? { details } : {}) } },
    { status, headers: { "x-canary-error": code, "cache-control": "no-store" } },
  );
}
