// Distinct users of one arm of a ring, for status: a small mergeable estimate from the
// identity hashes the edge already has. Exact up to EXACT_USERS distinct identities (a
// staff ring of a handful of people reads exactly), then a HyperLogLog of REGISTERS
// registers (Flajolet et al. 2007, with linear counting for small ranges): relative
// standard error 1.04 / sqrt(128) = 9.2%. On the wire it is at most 128 characters of
// registers plus 16 numbers, well under 400 bytes per arm and delta.
//
// A commutative monoid like the rest of Evidence: registers merge by maximum, the exact
// list by union, and a union past EXACT_USERS drops the list for good (whichever way the
// merges are grouped, the list is kept iff the union of every input fits), so deltas can
// be merged in any order and grouping.

/** Registers of the estimate (a power of two; the top 7 bits of a hash pick one). */
export const REGISTERS = 128;
const INDEX_BITS = 7;
/** Distinct identities kept exactly before only the estimate remains. */
export const EXACT_USERS = 16;
/** Relative standard error of the estimate past EXACT_USERS. */
export const USERS_RELATIVE_ERROR = 1.04 / Math.sqrt(REGISTERS);

/**
 * `r`: one character per register, its value in base 36 (a 32-bit hash leaves 25 bits
 * after the index, so a value is at most 26). `ids`: the distinct hashes, sorted, while
 * at most EXACT_USERS; absent once the union outgrew it.
 */
export interface UsersSketch {
  r: string;
  ids?: number[];
}

const EMPTY_REGISTERS = "0".repeat(REGISTERS);
/** A register's value is at most 26 ("q" in base 36). */
const REGISTERS_PATTERN = new RegExp(`^[0-9a-q]{${REGISTERS}}$`);

export function emptyUsers(): UsersSketch {
  return { r: EMPTY_REGISTERS, ids: [] };
}

function rank(hash: number): number {
  const rest = (hash << INDEX_BITS) >>> 0;
  // Leading zeros of the remaining 25 bits, plus one (an all-zero rest ranks 26).
  return rest === 0 ? 32 - INDEX_BITS + 1 : Math.clz32(rest) + 1;
}

/** Adds a 32-bit identity hash (mutates u). */
export function addUser(u: UsersSketch, hash: number): void {
  const h = hash >>> 0;
  const i = h >>> (32 - INDEX_BITS);
  const v = rank(h);
  if (v > parseInt(u.r[i]!, 36)) u.r = u.r.slice(0, i) + v.toString(36) + u.r.slice(i + 1);
  if (u.ids === undefined || u.ids.includes(h)) return;
  if (u.ids.length >= EXACT_USERS) {
    delete u.ids;
    return;
  }
  const at = u.ids.findIndex((x) => x > h);
  if (at < 0) u.ids.push(h);
  else u.ids.splice(at, 0, h);
}

/** Pure: a new sketch. */
export function mergeUsers(a: UsersSketch, b: UsersSketch): UsersSketch {
  let r = "";
  for (let i = 0; i < REGISTERS; i++) {
    const x = a.r[i] ?? "0";
    const y = b.r[i] ?? "0";
    r += parseInt(x, 36) >= parseInt(y, 36) ? x : y;
  }
  if (a.ids === undefined || b.ids === undefined) return { r };
  const ids = [...new Set([...a.ids, ...b.ids])].sort((x, y) => x - y);
  return ids.length <= EXACT_USERS ? { r, ids } : { r };
}

/** Distinct users: exact while the list is kept, else the HyperLogLog estimate (rounded). */
export function countUsers(u: UsersSketch): number {
  if (u.ids !== undefined) return u.ids.length;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < REGISTERS; i++) {
    const v = parseInt(u.r[i] ?? "0", 36);
    sum += Math.pow(2, -v);
    if (v === 0) zeros++;
  }
  const m = REGISTERS;
  const raw = ((0.7213 / (1 + 1.079 / m)) * m * m) / sum;
  // Small range: linear counting on the empty registers is the better estimate.
  const estimate = raw <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : raw;
  return Math.max(EXACT_USERS + 1, Math.round(estimate));
}

/** Whether `u` is a well-formed sketch (what a delta may carry). */
export function isUsersSketch(u: unknown): u is UsersSketch {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false;
  const x = u as Record<string, unknown>;
  if (typeof x.r !== "string" || !REGISTERS_PATTERN.test(x.r)) return false;
  if (x.ids === undefined) return Object.keys(x).length === 1;
  return Array.isArray(x.ids) && x.ids.length <= EXACT_USERS && x.ids.every((id) => Number.isInteger(id) && id >= 0 && id <= 0xffffffff) && Object.keys(x).length === 2;
}
