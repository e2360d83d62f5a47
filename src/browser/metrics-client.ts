// The metrics script the edge injects into a route's HTML (src/edge/html-inject.ts), built
// by scripts/checks/gen-metrics-script.ts into src/edge/metrics-script.generated.ts. Browser
// code: it runs in the page, never in the Worker. Its configuration is the script tag's
// data- attributes: data-beacon (the beacon URL), data-vitals and data-errors ("1": on),
// data-metrics (the route's metric names, space-separated: events of other names are not
// sent, the edge would drop them). It reports
//   - LCP, INP and CLS through web-vitals (metrics lcp, inp, cls) when data-vitals;
//   - uncaught errors and unhandled rejections (metric js_error, value 1, at most
//     MAX_ERRORS a page) when data-errors;
//   - window.edgeCanary.track(name, value = 1), for the page's own events.
// Events are batched and sent with navigator.sendBeacon (fetch keepalive when it refuses)
// when the page is hidden or left, and FLUSH_MS after the first event of a batch. The
// cookie that identifies the user goes with them (same origin); the variant is the edge's
// to decide, so none is sent.
import { onCLS, onINP, onLCP, type Metric } from "web-vitals";

const MAX_ERRORS = 3;
const FLUSH_MS = 5000;
/** The edge's MAX_BEACON_EVENTS: a longer batch goes as several beacons. */
const MAX_PER_BEACON = 32;
/** Events queued at most (a page that tracks in a loop must not grow memory). */
const MAX_QUEUED = 256;

interface QueuedEvent {
  name: string;
  value: number;
}

interface EdgeCanary {
  track(name: string, value?: number): void;
}

declare global {
  interface Window {
    edgeCanary?: EdgeCanary;
  }
}

(() => {
  const script = document.currentScript as HTMLScriptElement | null;
  const data = script?.dataset ?? {};
  const beacon = data.beacon;
  if (!beacon || window.edgeCanary) return;
  const wanted = new Set((data.metrics ?? "").split(" ").filter(Boolean));
  const queue: QueuedEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const send = (body: string): void => {
    let sent = false;
    try {
      sent = navigator.sendBeacon(beacon, body);
    } catch {
      sent = false;
    }
    if (!sent) void fetch(beacon, { method: "POST", body, keepalive: true, credentials: "same-origin", headers: { "content-type": "text/plain" } }).catch(() => undefined);
  };

  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    while (queue.length > 0) {
      const events = queue.splice(0, MAX_PER_BEACON);
      send(JSON.stringify({ page: location.pathname, source: "script", events }));
    }
  };

  const push = (name: string, value: number): void => {
    if (!wanted.has(name) || !Number.isFinite(value) || queue.length >= MAX_QUEUED) return;
    queue.push({ name, value });
    timer ??= setTimeout(flush, FLUSH_MS);
  };

  window.edgeCanary = {
    track(name: string, value = 1): void {
      if (typeof name === "string") push(name, Number(value));
    },
  };

  if (data.errors === "1") {
    let errors = 0;
    const onError = (): void => {
      if (errors++ < MAX_ERRORS) push("js_error", 1);
    };
    addEventListener("error", (e) => {
      // A resource that failed to load fires "error" on its element, not the window: not a JS error.
      if (e instanceof ErrorEvent) onError();
    });
    addEventListener("unhandledrejection", onError);
  }

  if (data.vitals === "1") {
    const report = (m: Metric): void => push(m.name.toLowerCase(), m.value);
    onLCP(report);
    onINP(report);
    onCLS(report);
  }

  // Registered after web-vitals' own listeners, so the values they report on hiding are queued first.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });
  addEventListener("pagehide", flush);
})();
