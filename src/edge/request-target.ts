// The parts of the request URL the request path uses, read from the parsed URL once.
// In workerd every URL getter is a call into the runtime, and under load each call costs
// several microseconds (docs/benchmarks.md, "Findings, sixth session"); the request path
// used to read `pathname` three times and `host` twice.

export interface RequestTarget {
  /** Host with port, lower-cased by the URL parser ("example.com:8443"). */
  host: string;
  pathname: string;
  /** Query with its "?", or "". */
  search: string;
  /** "https:" or "http:". */
  protocol: string;
}

export function requestTarget(url: URL): RequestTarget {
  return { host: url.host, pathname: url.pathname, search: url.search, protocol: url.protocol };
}
