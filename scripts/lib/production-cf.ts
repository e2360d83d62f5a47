// The request.cf the local runs pass (scripts, benches): two fields, the ones
// edge-canary reads. Every Worker a bench compares gets the same one.
export const LOCAL_CF = { colo: "LOC", country: "DE" };

// The request.cf object as Cloudflare fills it for a browser request (the shape of
// Miniflare's fallback cf; values illustrative). Locally the tests and benches pass a
// two-field cf; workerd parses and deep-freezes the whole object on the first read of
// request.cf, so the benchmarks use this shape to price that read as production pays it.
export const PRODUCTION_CF = {
  asOrganization: "Example Broadband",
  asn: 395747,
  colo: "DFW",
  city: "Austin",
  region: "Texas",
  regionCode: "TX",
  metroCode: "635",
  postalCode: "78701",
  country: "US",
  continent: "NA",
  timezone: "America/Chicago",
  latitude: "30.27130",
  longitude: "-97.74260",
  clientTcpRtt: 12,
  httpProtocol: "HTTP/2",
  requestPriority: "weight=192;exclusive=0",
  tlsCipher: "AEAD-AES128-GCM-SHA256",
  tlsVersion: "TLSv1.3",
  tlsClientAuth: Object.fromEntries(
    ["certPresented", "certVerified", "certRevoked", "certIssuerDN", "certSubjectDN", "certIssuerDNRFC2253", "certSubjectDNRFC2253", "certIssuerDNLegacy", "certSubjectDNLegacy", "certSerial", "certIssuerSerial", "certSKI", "certIssuerSKI", "certFingerprintSHA1", "certFingerprintSHA256", "certNotBefore", "certNotAfter"].map((k) => [k, k === "certVerified" ? "NONE" : k.endsWith("Presented") || k.endsWith("Revoked") ? "0" : ""]),
  ),
  edgeRequestKeepAliveStatus: 1,
  clientTrustScore: 99,
  botManagement: { corporateProxy: false, verifiedBot: false, ja3Hash: "25b4882c2bcb50cd6b469ff28c596742", staticResource: false, detectionIds: [], score: 99 },
};

