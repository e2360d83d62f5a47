// The dashboard's shadow parts, spliced into the page's script and style
// (dashboard-page.ts): the plan's stage labels, and the "Shadow comparison" panel of a
// route whose plan has shadow stages, fed by GET <base>/api/routes/:id/shadow (a
// ShadowReport, core/admin-protocol.ts). Plain browser JS in the page's own idiom: it
// uses the page's el(), api(), setError(), cards, clock(), num() and pct(). Paths and
// details come from client requests and origin answers, so they reach the DOM through
// textContent only. Given up: no history beyond the report's newest samples.

export const SHADOW_CSS = `
.step.shadow{border-style:dashed;color:#6d28d9;border-color:#c4b5fd}.step.shadow.done{background:#ede9fe;color:#5b21b6}.step.shadow.cur{background:#7c3aed;color:#fff;border-color:#7c3aed;border-style:solid}
.sep{color:#9ca3af}.shadow-panel{margin-top:10px}.shadow-panel table{border-collapse:collapse;width:100%}
.shadow-panel .counts{display:flex;flex-wrap:wrap;gap:4px 14px;margin:4px 0}.shadow-panel .counts b{font-variant-numeric:tabular-nums}
.shadow-panel td.detail,.shadow-panel td.path{word-break:break-all}.bad{color:#b91c1c}
`;

// No template literals inside (the page's script is a TS template string too).
export const SHADOW_JS = `
var OUTCOMES = [["match", "match"], ["mismatch", "mismatch"], ["canary_error", "canary error"], ["canary_timeout", "canary timeout"], ["skipped", "skipped"]];
var SAMPLES_SHOWN = 10;

/** The state's stages as labels, for states stored before stage kinds too (core/rollout/state.ts stageLabels). */
function stageLabels(st) {
  if (!st) return [];
  return st.stages || st.weights.map(function (w) { return w + "%"; });
}
function isShadowLabel(label) { return String(label).slice(0, 7) === "shadow "; }
/** True when the route's plan has a shadow stage (by the coordinator's state, else by the config). */
function hasShadow(r) {
  var st = r.coordinator && r.coordinator.state;
  if (st && stageLabels(st).some(isShadowLabel)) return true;
  var steps = r.config && r.config.steps;
  return !!(steps && steps.stages && steps.stages.some(function (x) { return x && x.shadow; }));
}

/** The shadow comparison panel: report is a ShadowReport, or null when there is none (404). */
function drawShadow(c, r, report) {
  var title = el("b", { text: "Shadow comparison" });
  var total = 0;
  if (report) OUTCOMES.forEach(function (o) { total += report.outcomes[o[0]] || 0; });
  if (!report || (total === 0 && report.samples.length === 0)) {
    c.shadow.replaceChildren(title, el("span", { class: "muted", "data-test": "shadow-empty", text: " no shadow data yet" }));
    return;
  }
  var shadowCfg = r.config && r.config.shadow, tolerated = shadowCfg && typeof shadowCfg.maxMismatchRate === "number" ? shadowCfg.maxMismatchRate : null;
  var over = report.mismatchRate !== null && tolerated !== null && report.mismatchRate > tolerated;
  var counts = el("div", { class: "counts" }, OUTCOMES.map(function (o) {
    var n = report.outcomes[o[0]] || 0;
    return el("span", { "data-outcome": o[0] }, [o[1] + " ", el("b", { class: o[0] !== "match" && o[0] !== "skipped" && n > 0 ? "bad" : null, text: n })]);
  }));
  counts.append(el("span", { "data-test": "shadow-rate" }, ["mismatch rate ", el("b", { class: over ? "bad" : null, text: pct(report.mismatchRate) }),
    tolerated !== null ? el("span", { class: "muted", text: " (tolerated " + pct(tolerated) + ")" }) : null]));
  // Reference pairs (sent together) are the fair comparison; the users' own requests ran earlier.
  function latencyTitle(l) { return l.source === "reference" ? "latency, " + l.pairs + " reference pairs" : l.source === "user" ? "latency vs users' requests" : "paired latency"; }
  var lat = report.latency || { stable: {}, canary: {} };
  var latency = el("table", { "data-test": "shadow-latency" }, [el("tr", {}, [latencyTitle(lat), "p50 ms", "p99 ms"].map(function (t) { return el("th", { text: t }); })),
    el("tr", {}, [el("td", { text: "stable" }), el("td", { text: num(lat.stable.p50, 1) }), el("td", { text: num(lat.stable.p99, 1) })]),
    el("tr", {}, [el("td", { text: "canary" }), el("td", { text: num(lat.canary.p50, 1) }), el("td", { text: num(lat.canary.p99, 1) })])]);
  var kids = [title, el("span", { class: "muted", text: " " + (report.stage ? report.stage : "not in a shadow stage now") + (report.release ? ", release " + report.release : "") + ", " + total + " mirrored requests compared" }),
    counts, latency];
  var samples = report.samples.slice(0, SAMPLES_SHOWN);
  if (samples.length) {
    var head = el("tr", {}, ["time", "method", "path", "part", "detail", "stable", "canary"].map(function (t) { return el("th", { text: t }); }));
    var rows = samples.map(function (m) {
      return el("tr", { "data-test": "shadow-sample" }, [el("td", { text: clock(m.at) }), el("td", { text: m.method }), el("td", { class: "path", text: m.path }),
        el("td", { text: m.part }), el("td", { class: "detail", text: m.detail }), el("td", { text: m.stableStatus || "-" }), el("td", { text: m.canaryStatus || "-" })]);
    });
    kids.push(el("div", {}, [el("b", { text: "Newest mismatches" }), el("span", { class: "muted", text: report.samples.length > samples.length ? " (" + samples.length + " of " + report.samples.length + ")" : "" })]),
      el("table", { "data-test": "shadow-samples" }, [head].concat(rows)));
  } else kids.push(el("div", { class: "muted", text: "no mismatches" }));
  c.shadow.replaceChildren.apply(c.shadow, kids);
}

/** Polls GET /routes/:id/shadow for the routes with shadow stages; a 404 (no report) reads "no shadow data yet". */
async function refreshShadow(routes) {
  await Promise.all(routes.map(async function (r) {
    var c = cards.get(r.id), key = "shadow-" + r.id;
    if (!c) return;
    if (!hasShadow(r)) { c.shadow.hidden = true; setError(key, null); return; }
    c.shadow.hidden = false;
    try {
      drawShadow(c, r, await api("/routes/" + encodeURIComponent(r.id) + "/shadow"));
      setError(key, null);
    } catch (e) {
      if (e.status === 404) { drawShadow(c, r, null); setError(key, null); }
      else setError(key, e.message);
    }
  }));
}
`;
