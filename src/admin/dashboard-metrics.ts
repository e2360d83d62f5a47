// The dashboard's metrics parts, spliced into the page's script and style
// (dashboard-page.ts): the "Metrics" panel of a route with route.metrics, from
// CoordinatorStatus.metrics (MetricVerdict[], the engine's latest per metric). Per metric:
// kind, mode, tolerance, both arms' per-user means and users, and the canary's relative
// difference with its interval drawn as a bar against the tolerated line; a failing metric
// is marked. Status carries only the latest verdict, so the charts over time are the
// page's own: it keeps the last METRIC_POLLS polls of each metric (about ten minutes at
// the poll interval) and forgets them on reload. A server from before metrics sends none
// and the panel stays hidden. Plain browser JS in the page's own idiom (el(), sv(),
// chart(), num(), pct()); metric names come from config but reach the DOM through
// textContent and attributes only, like every server string.

export const METRICS_CSS = `
.metrics-panel{margin-top:10px}.metrics-panel table{border-collapse:collapse;width:100%}.metrics-panel td.n{text-align:right}.metrics-panel td.iv{white-space:nowrap}
.metrics-panel tr.fail td{background:#fef2f2}.metrics-panel tr.fail td.verdict{color:#b91c1c;font-weight:700}.metrics-panel tr.worse td.verdict{color:#b45309}
.metrics-panel svg.diff{width:220px;height:26px;background:none;border:0;vertical-align:middle}
svg.diff .axis{stroke:#d1d5db}svg.diff .zero{stroke:#6b7280}svg.diff .tol{stroke:#dc2626;stroke-dasharray:3 2}
svg.diff .ci{fill:#fdba74}svg.diff .ci.bad{fill:#fca5a5}svg.diff .ci.open{fill:#e5e7eb}svg.diff .est{fill:#ea580c}svg.diff .est.bad{fill:#b91c1c}
.metrics-panel .charts{margin-top:6px}
`;

// No template literals inside (the page's script is a TS template string too).
export const METRICS_JS = `
/** Polls kept per metric for its chart over time (status has only the latest verdict). */
var METRIC_POLLS = 400;
var metricHistory = new Map();
var KIND_WORDS = { conversion: "share of users with the event", mean: "mean of each user's mean value", "rate-per-user": "events per user" };

/** A per-user mean as its kind reads: a conversion as a share of users, others as numbers. */
function metricMean(kind, v) {
  if (v === null || v === undefined) return "-";
  if (kind === "conversion") return pct(v);
  return Math.abs(v) >= 100 ? num(v, 1) : Number(v).toPrecision(3);
}
function signedPct(x) { return x === null || x === undefined ? "-" : (x > 0 ? "+" : "") + (x * 100).toFixed(2) + "%"; }
/** The tolerated change in the bad direction, signed: -5.00% for better higher, +5.00% for better lower. */
function tolerated(m) { return m.better === "higher" ? -m.tolerance : m.tolerance; }
function metricVerdict(m) {
  if (m.rejects) return m.mode === "guardrail" ? "FAILS" : "worse (observed)";
  return m.relativeDifference === null ? "no data" : "ok";
}

/**
 * The relative difference as a bar: the interval (grey when unbounded), the estimate as a
 * dot, zero, and the tolerated line dashed in red. The scale is symmetric around zero and
 * wide enough for the tolerance and the interval; what lies beyond is clipped at the edge.
 */
function diffBar(m) {
  var W = 220, H = 26, P = 6, iv = m.interval, rel = m.relativeDifference, tol = tolerated(m);
  var span = Math.abs(tol) * 2;
  [rel, iv && iv.low, iv && iv.high].forEach(function (v) { if (typeof v === "number" && isFinite(v)) span = Math.max(span, Math.abs(v) * 1.1); });
  span = Math.min(niceMax(span), 10);
  var x = function (v) { return P + (Math.max(-span, Math.min(span, v)) + span) / (2 * span) * (W - 2 * P); };
  var svg = sv("svg", { class: "diff", viewBox: "0 0 " + W + " " + H, "data-test": "metric-bar", "data-span": span, role: "img",
    "aria-label": "relative difference " + signedPct(rel) + ", tolerated " + signedPct(tol) });
  svg.append(sv("line", { class: "axis", x1: P, x2: W - P, y1: H / 2, y2: H / 2 }));
  var bad = m.rejects;
  if (iv) svg.append(sv("rect", { class: "ci" + (bad ? " bad" : ""), "data-test": "metric-interval", x: x(iv.low).toFixed(1), y: H / 2 - 5, width: Math.max(1, x(iv.high) - x(iv.low)).toFixed(1), height: 10 }));
  else if (rel !== null) svg.append(sv("rect", { class: "ci open", "data-test": "metric-interval", x: P, y: H / 2 - 5, width: W - 2 * P, height: 10 }));
  svg.append(sv("line", { class: "zero", x1: x(0), x2: x(0), y1: 2, y2: H - 2 }));
  svg.append(sv("line", { class: "tol", "data-test": "metric-tolerance", "data-value": tol, x1: x(tol).toFixed(1), x2: x(tol).toFixed(1), y1: 1, y2: H - 1 }));
  if (rel !== null) svg.append(sv("circle", { class: "est" + (bad ? " bad" : ""), cx: x(rel).toFixed(1), cy: H / 2, r: 3.5 }));
  svg.append(sv("title", {}, "canary relative to stable " + signedPct(rel) + (iv ? " (interval " + signedPct(iv.low) + " to " + signedPct(iv.high) + ")" : rel !== null ? " (interval unbounded so far)" : "") +
    "; tolerated " + signedPct(tol) + "; scale +-" + (span * 100).toFixed(0) + "%"));
  return svg;
}

/** Keeps this poll's means per metric of route id (one point per coordinator clock tick). */
function rememberMetrics(id, s) {
  (s.metrics || []).forEach(function (m) {
    var key = id + "\\u0000" + m.name, h = metricHistory.get(key);
    if (!h) { h = []; metricHistory.set(key, h); }
    var t = s.now || Date.now();
    if (h.length && h[h.length - 1].t >= t) return;
    h.push({ t: t, stable: m.stable.mean, canary: m.canary.mean });
    if (h.length > METRIC_POLLS) h.splice(0, h.length - METRIC_POLLS);
  });
}

/** The metrics panel: one row per metric of route.metrics, and a chart per metric over the kept polls; hidden without metrics. */
function drawMetrics(c, id, s) {
  var metrics = s.metrics || [];
  c.metrics.hidden = metrics.length === 0;
  if (metrics.length === 0) { c.metrics.replaceChildren(); return; }
  rememberMetrics(id, s);
  var cell = function (v) { return el("td", { class: "n", text: v }); };
  var head = el("tr", {}, ["metric", "kind", "mode", "stable mean", "stable users", "canary mean", "canary users", "difference", "interval", "canary vs stable (red: tolerated)", "tolerated", "verdict"].map(function (t) { return el("th", { text: t }); }));
  var failing = 0;
  var rows = metrics.map(function (m) {
    var fail = m.rejects && m.mode === "guardrail";
    if (fail) failing++;
    var iv = m.interval;
    return el("tr", { "data-test": "metric-row", "data-metric": m.name, "data-fails": fail ? "true" : null, class: fail ? "fail" : m.rejects ? "worse" : null,
      title: fail ? "the canary is worse than tolerated on this guardrail" : null }, [
      el("td", { text: m.name }), el("td", { text: m.kind, title: KIND_WORDS[m.kind] || null }), el("td", { text: m.mode }),
      cell(metricMean(m.kind, m.stable.mean)), cell(m.stable.users), cell(metricMean(m.kind, m.canary.mean)), cell(m.canary.users),
      cell(signedPct(m.relativeDifference)), el("td", { class: "iv", text: iv ? signedPct(iv.low) + " .. " + signedPct(iv.high) : m.relativeDifference === null ? "-" : "unbounded" }),
      el("td", {}, [diffBar(m)]), cell(signedPct(tolerated(m))), el("td", { class: "verdict", text: metricVerdict(m) })]);
  });
  var charts = el("div", { class: "charts", "data-test": "metric-charts" }, metrics.map(function (m) {
    var h = metricHistory.get(id + "\\u0000" + m.name) || [];
    var t1 = h.length ? h[h.length - 1].t : Date.now(), t0 = h.length ? Math.min(h[0].t, t1 - 60000) : t1 - 60000;
    var fmt = function (v) { return metricMean(m.kind, v); };
    return chart("metric-" + m.name, m.name + ": per-user mean", fmt,
      [{ label: "stable", color: COLOR.stable, pts: h.map(function (p) { return [p.t, p.stable]; }) },
       { label: "canary", color: COLOR.canary, pts: h.map(function (p) { return [p.t, p.canary]; }) }], t0, t1);
  }));
  c.metrics.replaceChildren(el("b", { text: "Metrics" }),
    el("span", { class: "muted", "data-test": "metrics-note", text: " per-user means over this rollout's users; a guardrail worse than tolerated fails the rollout, an observed metric is only shown" +
      (failing ? "; " + failing + " failing" : "") + "; charts: this page's last polls" }),
    el("table", { "data-test": "metrics-table" }, [head].concat(rows)), charts);
}
`;
