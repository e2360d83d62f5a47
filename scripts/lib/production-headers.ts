// The headers a Worker sees on a browser's page request through Cloudflare: what Chrome
// sends for a navigation, plus what Cloudflare adds in front of the Worker (values
// illustrative). The bench's default client sends three headers; every Worker copies
// the client's headers to its origin request and edge-canary also scans them once, so
// `npm run bench -- --browser-headers` prices the request path at production's count.
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
  "accept-encoding": "br, gzip",
  "accept-language": "en-US,en;q=0.9,de;q=0.8",
  "cache-control": "max-age=0",
  "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "sec-ch-ua": '"Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131"',
  "sec-ch-ua-mobile": "?0",
  "sec-ch-ua-platform": '"macOS"',
  "sec-fetch-dest": "document",
  "sec-fetch-mode": "navigate",
  "sec-fetch-site": "same-origin",
  "sec-fetch-user": "?1",
  "upgrade-insecure-requests": "1",
  referer: "https://shop.example.com/",
  priority: "u=0, i",
  "cf-ray": "8f2b6c1d9e3a4b5c-DFW",
  "cf-ipcountry": "US",
  "cf-visitor": '{"scheme":"https"}',
  "x-forwarded-proto": "https",
  "x-real-ip": "203.0.113.7",
  "cdn-loop": "cloudflare",
};

/** The app's own cookies next to edge-canary's, as a returning visitor sends them. */
export const BROWSER_COOKIES = "_ga=GA1.1.1234567890.1700000000; _ga_ABC123=GS1.1.1700000000.3.1.1700000100.0.0.0; app_session=s%3Aj7QmZ9xYw2v.abcdef0123456789; consent=analytics%3Dyes";
