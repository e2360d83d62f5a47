// The parts of the request URL the request path uses, read from the parsed URL once.
// Each URL getter is a call into workerd, but a cheap one (it creates nothing), so this
// is tidiness more than speed.

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
