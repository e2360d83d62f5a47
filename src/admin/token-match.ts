// Constant-time comparison of a presented admin token with ADMIN_TOKEN, shared by the
// bearer check (auth.ts) and the dashboard login (dashboard.ts). Both sides are hashed
// first, so the comparison is over equal-length buffers whatever the lengths given.
const encoder = new TextEncoder();

const digest = (text: string): Promise<ArrayBuffer> => crypto.subtle.digest("SHA-256", encoder.encode(text));

export async function tokenMatches(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}
