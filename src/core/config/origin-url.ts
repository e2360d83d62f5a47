// Origin and webhook URLs, checked and normalised the way the proxy will use them.
// The proxy concatenates the origin with the request path, so what passes here must be
// the URL parser's own reading of the text: surrounding whitespace, a Unicode host, an
// upper-case host or a default port are normalised (status then shows the stored
// form); anything the concatenation would turn into a different URL, or that would
// send traffic somewhere it must not go, is rejected. Pure: no DNS here (the CLI
// resolves names with `blockedAddressReason` over the answers).

/** Names that resolve to a cloud metadata service only inside that cloud. */
const METADATA_HOSTNAMES = new Set(["metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"]);

/** Metadata services outside the link-local ranges: Alibaba Cloud, AWS over IPv6. */
const METADATA_ADDRESSES = new Set(["100.100.100.200", "fd00:ec2:0:0:0:0:0:254"]);

export type UrlCheck = { ok: true; value: string } | { ok: false; error: string };

const URL_SHAPE = "must be an absolute http(s) URL without query or fragment";

/** Checks one origin or webhook URL; `value` is the normalised URL to store. */
export function checkHttpUrl(raw: string): UrlCheck {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, error: URL_SHAPE };
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") return { ok: false, error: URL_SHAPE };
  // The parser drops an empty "?" or "#", but the proxy appends to the text, so an
  // origin ending in one would put every request path into its query or fragment.
  if (url.search || text.includes("?")) return { ok: false, error: `${URL_SHAPE} (found "?")` };
  if (url.hash || text.includes("#")) return { ok: false, error: `${URL_SHAPE} (found "#")` };
  // Deliberately not echoed: the message ends up in logs and the status API.
  if (url.username || url.password) {
    return { ok: false, error: "must not contain credentials (user:password@): fetch refuses them and they would show in status" };
  }
  const blocked = blockedHostReason(url.hostname);
  if (blocked) return { ok: false, error: `must not point at ${blocked}` };
  // "https://x.example" stays without a trailing slash; the proxy treats both alike.
  const value = url.pathname === "/" && !text.endsWith("/") ? url.origin : url.origin + url.pathname;
  return { ok: true, value };
}

/** Why a URL host (as the URL parser prints it) must not be an origin, or undefined. */
export function blockedHostReason(hostname: string): string | undefined {
  if (METADATA_HOSTNAMES.has(hostname.replace(/\.$/, ""))) return `a cloud metadata service (${hostname})`;
  const address = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  return blockedAddressReason(address);
}

/** Why an IP address must not be an origin (link-local or a metadata service), or undefined. */
export function blockedAddressReason(address: string): string | undefined {
  const v4 = parseIpv4(address);
  if (v4) return ipv4Reason(v4, address);
  const v6 = parseIpv6(address);
  if (!v6) return undefined;
  if ((v6[0]! & 0xffc0) === 0xfe80) return `a link-local address (${address}, fe80::/10)`;
  if (METADATA_ADDRESSES.has(v6.map((h) => h.toString(16)).join(":"))) return `a cloud metadata address (${address})`;
  // IPv4-mapped (::ffff:a.b.c.d): the parser prints it in hex, the host is still IPv4.
  if (v6.slice(0, 5).every((h) => h === 0) && v6[5] === 0xffff) {
    const mapped = [v6[6]! >> 8, v6[6]! & 0xff, v6[7]! >> 8, v6[7]! & 0xff];
    return ipv4Reason(mapped, address);
  }
  return undefined;
}

function ipv4Reason(octets: number[], shown: string): string | undefined {
  if (octets[0] === 169 && octets[1] === 254) return `a link-local address (${shown}, 169.254.0.0/16)`;
  if (METADATA_ADDRESSES.has(octets.join("."))) return `a cloud metadata address (${shown})`;
  return undefined;
}

function parseIpv4(address: string): number[] | undefined {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

/** Eight 16-bit groups, or undefined; accepts "::" and a dotted IPv4 tail. */
function parseIpv6(address: string): number[] | undefined {
  const text = address.replace(/%.*$/, "").toLowerCase();
  if (!text.includes(":")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const v4 = i === parts.length - 1 ? parseIpv4(p) : undefined;
      if (v4) out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      else if (/^[0-9a-f]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  return [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
}
