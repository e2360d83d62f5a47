// Unpadded base64url (RFC 4648 section 5) of bytes: the alphabet of our minted
// identities, override-token signatures and dashboard sessions.
export function base64url(bytes: Uint8Array | ArrayBuffer): string {
  let bin = "";
  for (const b of bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
