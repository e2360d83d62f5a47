// The dashboard's HTML: one self-contained page (inline CSS and JS, no framework, no
// CDN) that polls `<base>/api/status` and `/events` (and, for a route whose plan has
// shadow stages, `/routes/:id/shadow`: dashboard-shadow.ts) and draws its charts as inline SVG;
// a plan with ring stages gets a rings panel (dashboard-rings.ts), a route with metrics a
// metrics panel (dashboard-metrics.ts).
// Every server string reaches the DOM through textContent, never innerHTML: reasons are
// typed by operators and explanations come from the engine. Given up: no history
// beyond what the coordinator keeps in `series` (1 h of 10 s windows) and, for metrics,
// what the page itself kept since it was opened; no zooming.
// The script's constants (base path, poll interval, window width, which buttons each
// phase allows) come from the server as a JSON data block (DashboardSettings), so they
// are defined once, in TypeScript.
import type { DashboardSettings } from "../core/admin-protocol.js";
import { METRICS_CSS, METRICS_JS } from "./dashboard-metrics.js";
import { RINGS_CSS, RINGS_JS } from "./dashboard-rings.js";
import { SHADOW_CSS, SHADOW_JS } from "./dashboard-shadow.js";

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const CSS = `
*{box-sizing:border-box}[hidden]{display:none!important}body{margin:0;font:14px/1.4 system-ui,sans-serif;color:#111827;background:#f3f4f6}
header{display:flex;gap:12px;align-items:baseline;padding:10px 18px;background:#111827;color:#f9fafb}
header h1{font-size:17px;margin:0}#updated{color:#9ca3af;font-size:12px}
main{padding:12px 18px;display:grid;gap:14px}
#errors{background:#fee2e2;color:#991b1b;border:1px solid #fca5a5;padding:8px 12px;border-radius:6px;white-space:pre-wrap}
.card,.audit{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 14px}
.head{display:flex;flex-wrap:wrap;gap:10px;align-items:center}.head h2{margin:0;font-size:18px}
.facts{display:flex;flex-wrap:wrap;gap:6px 14px;color:#374151}.facts b{color:#111827}
.badge{padding:2px 10px;border-radius:99px;font-weight:600;color:#fff;background:#6b7280}
.ph-progressing{background:#2563eb}.ph-paused{background:#d97706}.ph-promoted{background:#16a34a}.ph-rolled_back{background:#dc2626}
.steps{display:flex;gap:4px;align-items:center;margin:10px 0;flex-wrap:wrap}
.step{padding:2px 9px;border:1px solid #d1d5db;border-radius:4px;color:#6b7280;font-variant-numeric:tabular-nums}
.step.done{background:#e0e7ff;color:#3730a3;border-color:#c7d2fe}.step.cur{background:#2563eb;color:#fff;border-color:#2563eb;font-weight:700}
.step.failed{background:#fee2e2;color:#b91c1c;border-color:#fca5a5;text-decoration:line-through}
.actions{display:flex;gap:6px;flex-wrap:wrap}
button{font:inherit;padding:4px 12px;border:1px solid #9ca3af;border-radius:5px;background:#f9fafb;cursor:pointer}
button:disabled{opacity:.4;cursor:default}button.danger{border-color:#dc2626;color:#b91c1c}
form.ask{display:flex;gap:6px;align-items:center;flex-wrap:wrap;margin-top:8px;padding:8px;background:#fffbeb;border:1px solid #fcd34d;border-radius:6px}
form.ask input{flex:1;min-width:220px;font:inherit;padding:4px 6px}.msg{color:#b91c1c}
.flash{color:#15803d;margin-left:8px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:10px;margin-top:12px}
figure{margin:0}figcaption{font-weight:600;font-size:13px}
.key{display:flex;gap:10px;font-weight:400;font-size:12px;color:#374151;min-height:18px}.key i{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:3px}
svg{width:100%;height:auto;background:#fafafa;border:1px solid #eef0f3;border-radius:4px}
svg text{font-size:10px;fill:#6b7280}svg .grid{stroke:#e5e7eb}svg .line{fill:none;stroke-width:2}
.decision,.evidence{margin-top:10px}.evidence table,.audit table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:3px 8px;border-bottom:1px solid #f1f5f9;vertical-align:top;font-variant-numeric:tabular-nums}
th{color:#6b7280;font-weight:500}pre{margin:4px 0;max-height:260px;overflow:auto;background:#f8fafc;padding:6px;font-size:12px}
summary{cursor:pointer;color:#2563eb}.muted{color:#6b7280}.audit h2{margin:0 0 8px;font-size:16px}
`;

// Plain browser JS (no template literals, so it can live in a TS template string).
const JS = `
"use strict";
var SETTINGS = JSON.parse(document.getElementById("settings").textContent);
var BASE = SETTINGS.base, API = BASE + SETTINGS.apiPath, POLL_MS = SETTINGS.pollMs, WINDOW_MS = SETTINGS.windowMs;
var COLOR = { stable: "#2563eb", canary: "#ea580c" };
var ACTIONS = SETTINGS.actions, ALLOWED = SETTINGS.commandPhases;
var cards = new Map(), openDetails = new Set(), errors = new Map(), auditKey = "";
var $ = function (id) { return document.getElementById(id); };

function el(tag, attrs, kids) {
  var n = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) return;
    if (k === "text") n.textContent = String(v);
    else if (k.slice(0, 2) === "on") n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? "" : String(v));
  });
  (kids || []).forEach(function (c) { if (c !== null && c !== undefined) n.append(c); });
  return n;
}
function sv(tag, attrs, text) {
  var n = document.createElementNS("http://www.w3.org/2000/svg", tag);
  Object.keys(attrs).forEach(function (k) { n.setAttribute(k, String(attrs[k])); });
  if (text !== undefined) n.textContent = text;
  return n;
}
function clock(ms) { return new Date(ms).toLocaleTimeString([], { hour12: false }); }
function ago(ms) { return ms < 1000 ? "just now" : ms < 120000 ? Math.round(ms / 1000) + " s ago" : Math.round(ms / 60000) + " min ago"; }
function num(x, d) { return x === null || x === undefined ? "-" : x === 0 ? "0" : Number(x).toFixed(d); }
function pct(x) { return x === null || x === undefined ? "-" : (x * 100).toFixed(2) + "%"; }
/** A details element that stays open across re-renders. */
// The engine's tests in words: events on each side, how far each is from failing the
// canary and from letting the step advance (the raw explanation stays one click away).
var TEST_NAMES = { errors: "errors (failing users)", latency: "tail latency", median: "median latency", mismatch: "answer mismatches" };
function explainTable(x) {
  if (!x || typeof x !== "object" || !x.errors || x.errors.logRatio === undefined) return null;
  var rows = ["errors", "latency", "median", "mismatch"].filter(function (k) { return x[k] && x[k].active; }).map(function (k) {
    var t = x[k];
    var adv = t.promotionRatio === null || t.promotionRatio === undefined ? (t.absolute ? "passed (absolute bound)" : "-")
      : (t.promotionHave >= t.promotionNeeded ? "passed" : "e^" + num(t.promotionHave, 1) + " of e^" + num(t.promotionNeeded, 1)) + " against " + num(t.promotionRatio, 2) + "x";
    var eta = t.etaSec === null || t.etaSec === undefined ? "-" : t.etaSec === 0 ? "done" : "~" + Math.round(t.etaSec) + " s";
    return el("tr", { "data-test": "explanation-test", "data-metric": k }, [el("td", { text: TEST_NAMES[k] }), el("td", { text: t.canaryEvents + " / " + t.stableEvents }),
      el("td", { class: t.rejects ? "bad" : null, text: "e^" + num(t.logRatio, 1) + " of e^" + num(t.rejectAt, 1) }), el("td", { text: adv }), el("td", { text: eta })]);
  });
  var kids = [el("table", { "data-test": "explanation-tests" }, [el("tr", {}, ["test", "canary / stable events", "evidence to fail", "evidence to advance", "ETA"].map(function (h) { return el("th", { text: h }); }))].concat(rows))];
  if (x.needed && x.needed.length) kids.push(el("div", { class: "muted", text: "still needed: " + x.needed.join("; ") }));
  return el("div", {}, kids);
}
function details(key, label, value) {
  var d = el("details", { "data-key": key, open: openDetails.has(key) }, [el("summary", { text: label }),
    el("pre", { text: typeof value === "string" ? value : JSON.stringify(value, null, 2) })]);
  d.addEventListener("toggle", function () { if (d.open) openDetails.add(key); else openDetails.delete(key); });
  return d;
}
function setError(key, msg) {
  if (msg) errors.set(key, msg); else errors.delete(key);
  var box = $("errors");
  box.hidden = errors.size === 0;
  box.textContent = Array.from(errors.values()).join("\\n");
}

async function api(path, init) {
  init = init || {};
  init.credentials = "same-origin";
  var marked = {};
  marked[SETTINGS.csrfHeader] = "1";
  init.headers = Object.assign(marked, init.headers || {});
  var res = await fetch(API + path, init), text = await res.text(), body;
  try { body = JSON.parse(text); } catch (e) { body = { error: text.slice(0, 300) }; }
  if (!res.ok) {
    var msg = (body && body.error) || "HTTP " + res.status;
    if (res.status === 401) msg += " - log in again: open " + BASE + "/?token=<ADMIN_TOKEN>";
    var err = new Error(path.split("?")[0] + " failed (" + res.status + "): " + msg);
    err.status = res.status;
    throw err;
  }
  return body;
}

${SHADOW_JS}
${RINGS_JS}
${METRICS_JS}
function card(id) {
  var c = cards.get(id);
  if (c) return c;
  c = { phase: el("span", { class: "badge", "data-test": "phase" }), facts: el("div", { class: "facts" }),
    steps: el("div", { class: "steps", "data-test": "steps" }), buttons: {}, flash: el("span", { class: "flash" }),
    form: el("form", { class: "ask", hidden: true }), charts: el("div", { class: "charts" }),
    evidence: el("div", { class: "evidence" }), decision: el("div", { class: "decision", "data-test": "decision" }),
    rings: el("div", { class: "rings-panel", "data-test": "rings", hidden: true }),
    metrics: el("div", { class: "metrics-panel", "data-test": "metrics", hidden: true }),
    shadow: el("div", { class: "shadow-panel", "data-test": "shadow", hidden: true }) };
  var bar = el("div", { class: "actions" });
  ACTIONS.forEach(function (a) {
    var b = el("button", { type: "button", "data-action": a[0], class: a[0] === "rollback" ? "danger" : null, text: a[1],
      onclick: function () { ask(id, a[0], a[1]); } });
    c.buttons[a[0]] = b;
    bar.append(b);
  });
  bar.append(c.flash);
  c.root = el("section", { class: "card", id: "route-" + id, "data-route": id },
    [el("div", { class: "head" }, [el("h2", { text: id }), c.phase, c.facts]), c.steps, bar, c.form, c.charts, c.decision, c.rings, c.metrics, c.evidence, c.shadow]);
  $("routes").append(c.root);
  cards.set(id, c);
  return c;
}

/** Opens the inline "reason" form for an action; submitting POSTs it and refreshes. */
function ask(id, action, label) {
  var c = cards.get(id);
  var input = el("input", { name: "reason", maxlength: 500, placeholder: "reason (required, recorded in the audit log)", "aria-label": "reason" });
  var msg = el("span", { class: "msg" });
  var go = el("button", { type: "submit", class: action === "rollback" ? "danger" : null, text: "Confirm " + label.toLowerCase() });
  c.form.replaceChildren(el("b", { text: label + " " + id + ":" }), input, go,
    el("button", { type: "button", text: "Cancel", onclick: function () { c.form.hidden = true; } }), msg);
  c.form.onsubmit = async function (ev) {
    ev.preventDefault();
    var reason = input.value.trim();
    if (!reason) { msg.textContent = "a reason is required"; input.focus(); return; }
    go.disabled = true;
    try {
      await api("/routes/" + encodeURIComponent(id) + "/" + action, { method: "POST",
        headers: { "content-type": "application/json" }, body: JSON.stringify({ reason: reason }) });
      c.form.hidden = true;
      c.flash.textContent = label + " done";
      setTimeout(function () { c.flash.textContent = ""; }, 4000);
      setError("action", null);
      await refresh();
    } catch (e) {
      msg.textContent = e.message;
      setError("action", e.message);
    } finally { go.disabled = false; }
  };
  c.form.hidden = false;
  input.focus();
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** A line chart: lines = [{label, color, dash, pts: [[t, v|null]]}] over [t0, t1]. */
function chart(name, title, fmt, lines, t0, t1) {
  var W = 340, H = 150, L = 44, R = 8, T = 8, B = 18, w = W - L - R, h = H - T - B;
  var all = [];
  lines.forEach(function (l) { l.pts.forEach(function (p) { if (p[1] !== null) all.push(p[1]); }); });
  var ymax = niceMax(Math.max.apply(null, all.concat([0])));
  var x = function (t) { return L + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * w; };
  var y = function (v) { return T + h - (v / ymax) * h; };
  var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, "data-chart": name, role: "img", "aria-label": title });
  [0, 0.5, 1].forEach(function (f) {
    svg.append(sv("line", { class: "grid", x1: L, x2: W - R, y1: y(ymax * f), y2: y(ymax * f) }));
    svg.append(sv("text", { x: L - 4, y: y(ymax * f) + 3, "text-anchor": "end" }, fmt(ymax * f)));
  });
  svg.append(sv("text", { x: L, y: H - 4 }, clock(t0)));
  svg.append(sv("text", { x: W - R, y: H - 4, "text-anchor": "end" }, clock(t1)));
  if (all.length === 0) svg.append(sv("text", { x: L + w / 2, y: T + h / 2, "text-anchor": "middle" }, "no data yet"));
  var key = el("span", { class: "key" });
  lines.forEach(function (l) {
    var d = "", pen = "M", n = 0;
    l.pts.forEach(function (p) {
      if (p[1] === null) { pen = "M"; return; }
      d += pen + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1) + " ";
      pen = "L";
      n++;
    });
    if (n === 0) return;
    svg.append(sv("path", { class: "line", d: d.trim(), stroke: l.color, "stroke-dasharray": l.dash || "none", "data-series": l.label, "data-points": n }));
    l.pts.forEach(function (p) {
      if (p[1] === null) return;
      var dot = sv("circle", { class: "pt", cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 2.2, fill: l.color, "data-value": p[1] });
      dot.append(sv("title", {}, l.label + " " + fmt(p[1]) + " at " + clock(p[0])));
      svg.append(dot);
    });
    var swatch = el("i");
    swatch.style.background = l.dash ? "repeating-linear-gradient(90deg," + l.color + " 0 4px,transparent 4px 7px)" : l.color;
    key.append(el("span", {}, [swatch, l.label]));
  });
  return el("figure", {}, [el("figcaption", {}, [title, key]), svg]);
}

function drawCharts(c, s) {
  var series = s.series || [], now = s.now || Date.now();
  var t0 = series.length ? series[0].t : now - 60000, t1 = Math.max(now, t0 + WINDOW_MS);
  // The newest window is still filling: divide by the time it has covered so far.
  var secs = function (p) { return Math.max(1, Math.min(WINDOW_MS, now - p.t)) / 1000; };
  var rate = function (arm) { return series.map(function (p) { return [p.t, p[arm].requests / secs(p)]; }); };
  var errs = function (arm) { return series.map(function (p) { return [p.t, p[arm].requests ? p[arm].errorRate * 100 : null]; }); };
  var lat = function (arm, q) { return series.map(function (p) { return [p.t, p[arm][q]]; }); };
  c.charts.replaceChildren(
    chart("rate", "Requests / s", function (v) { return num(v, v < 10 ? 1 : 0); },
      [{ label: "stable", color: COLOR.stable, pts: rate("stable") }, { label: "canary", color: COLOR.canary, pts: rate("canary") }], t0, t1),
    chart("errors", "Error rate %", function (v) { return num(v, v < 10 ? 1 : 0) + "%"; },
      [{ label: "stable", color: COLOR.stable, pts: errs("stable") }, { label: "canary", color: COLOR.canary, pts: errs("canary") }], t0, t1),
    chart("latency", "Latency ms: p95 solid, p99 dashed", function (v) { return num(v, v < 10 ? 1 : 0); },
      [{ label: "stable p95", color: COLOR.stable, pts: lat("stable", "p95") }, { label: "stable p99", color: COLOR.stable, dash: "4 3", pts: lat("stable", "p99") },
       { label: "canary p95", color: COLOR.canary, pts: lat("canary", "p95") }, { label: "canary p99", color: COLOR.canary, dash: "4 3", pts: lat("canary", "p99") }], t0, t1));
}

function drawRoute(r) {
  var c = card(r.id), s = r.coordinator || {}, st = s.state, phase = st ? st.phase : "unknown";
  c.phase.textContent = phase;
  c.phase.className = "badge ph-" + phase;
  var facts = [["release", st ? st.release : r.config.release], ["mode", st ? st.mode : "-"],
    ["effective weight", (typeof s.effectiveWeight === "number" ? Math.round(s.effectiveWeight * 100) / 100 + "%" : "-")], ["isolates", s.isolates], ["epoch", st ? st.epoch : "-"]];
  c.facts.replaceChildren.apply(c.facts, facts.map(function (f) {
    return el("span", { "data-test": f[0].replace(" ", "-") }, [f[0] + " ", el("b", { text: f[1] })]);
  }));
  if (st) c.facts.append(el("span", { class: "muted", text: "last change " + ago(s.now - st.lastChange.at) + " by " + st.lastChange.actor + ": " + st.lastChange.reason }));
  if (s.configError) c.facts.append(el("span", { class: "msg", text: "config error: " + s.configError.join("; ") }));
  if (r.isolate && r.isolate.failSafe) c.facts.append(el("span", { class: "msg", text: "this isolate is in fail-safe (serving stable)" }));

  // The plan's stages by label ("shadow 10%", "staff 100%", "5%"), the current one as the
  // coordinator marks it (planStages: from the state's labels for servers before ring stages).
  var stages = st ? planStages(s) : [], kids = [el("span", { class: "muted", text: st && st.mode === "manual" ? "manual weight" : "steps" })];
  stages.forEach(function (p, i) {
    var label = p.label, failed = i === st.stepIndex && st.phase === "rolled_back", shadow = isShadowLabel(label);
    var cls = "step" + (shadow ? " shadow" : p.ring ? " ring" : "") + (failed ? " failed" : st.phase === "promoted" || i < st.stepIndex ? " done" : p.current ? " cur" : "");
    var what = shadow ? ": users on stable, requests mirrored to the canary" : p.ring ? ": the canary for this audience, on top of the stages before" : "";
    if (i > 0) kids.push(el("span", { class: "sep", text: "\u203a" }));
    kids.push(el("span", { class: cls, "data-stage": label, "data-current": p.current ? "true" : null, title: failed ? "rolled back at this step" : "step " + (i + 1) + what, text: label }));
  });
  if (st && st.mode === "steps") kids.push(el("span", { class: "sep", text: "\u203a" }), el("span", { class: "step" + (st.phase === "promoted" ? " cur" : ""), text: "promoted 100%" }));
  if (st && st.phase === "rolled_back") kids.push(el("span", { class: "msg", text: "rolled back: serving 0%" }));
  var marked = stages.filter(function (p) { return p.current; })[0] || stages[st ? st.stepIndex : -1], current = marked ? marked.label : undefined;
  if (current && isShadowLabel(current) && (st.phase === "progressing" || st.phase === "paused")) {
    kids.push(el("span", { class: "muted", text: "every user on stable; " + current.slice(7) + " of users' requests mirrored to the canary" }));
  }
  if (current && isRingLabel(current) && (st.phase === "progressing" || st.phase === "paused")) {
    var cut = current.lastIndexOf(" ");
    kids.push(el("span", { class: "muted", "data-test": "ring-note", text: "canary for " + current.slice(cut + 1) + " of " + current.slice(0, cut) + " (and every ring before it); everyone else " + s.effectiveWeight + "%" }));
  }
  if (s.step && st && (st.phase === "progressing" || st.phase === "paused")) kids.push(el("span", { class: "muted", text: "step started " + ago(s.now - s.step.startedAt) }));
  c.steps.replaceChildren.apply(c.steps, kids);

  Object.keys(c.buttons).forEach(function (a) { c.buttons[a].disabled = !st || ALLOWED[a].indexOf(phase) < 0; });
  drawCharts(c, s);
  drawRings(c, s);
  drawMetrics(c, r.id, s);

  var d = s.lastDecision;
  c.decision.replaceChildren.apply(c.decision, d
    ? [el("b", { text: "Last decision: " }), el("span", { class: "badge ph-" + ({ advance: "promoted", rollback: "rolled_back", hold: "paused" }[d.action] || ""), "data-test": "decision-action", text: d.action }),
       " ", el("span", { text: String(d.reason).replace(new RegExp("^" + d.action + ":\\s*"), "") }),
       el("span", { class: "muted", text: " (" + ago(s.now - d.at) + (st && d.epoch !== undefined && d.epoch !== st.epoch ? ", before the last change" : "") + ")" }),
       explainTable(d.explanation), d.explanation !== undefined ? details("d-" + r.id, "explanation (raw)", d.explanation) : null]
    : [el("b", { text: "Last decision: " }), el("span", { class: "muted", text: "none yet" })]);

  var ev = s.step && s.step.evidence;
  c.evidence.replaceChildren();
  if (ev) {
    var row = function (arm) {
      var a = ev[arm];
      return el("tr", {}, [el("td", { text: arm }), el("td", { text: a.requests }), el("td", { text: a.errors }), el("td", { text: pct(a.errorRate) }),
        el("td", { text: num(a.p50, 1) }), el("td", { text: num(a.p95, 1) }), el("td", { text: num(a.p99, 1) })]);
    };
    c.evidence.append(el("b", { text: "Current step evidence" }), el("span", { class: "muted", text: " canary share " + pct(ev.canaryShare) }),
      el("table", {}, [el("tr", {}, ["variant", "requests", "errors", "error rate", "p50 ms", "p95 ms", "p99 ms"].map(function (t) { return el("th", { text: t }); })),
        row("stable"), row("canary")]));
  }
}

function drawAudit(events) {
  var key = events.map(function (e) { return e.route + ":" + e.id; }).join(",");
  if (key === auditKey) return;
  auditKey = key;
  var head = el("tr", {}, ["time", "route", "actor", "event", "phase", "weight", "reason", "explanation"].map(function (t) { return el("th", { text: t }); }));
  var rows = events.map(function (e) {
    return el("tr", { "data-test": "audit-row", "data-actor": e.actor, "data-event": e.event }, [el("td", { text: clock(e.at) }), el("td", { text: e.route }),
      el("td", { text: e.actor }), el("td", { text: e.event }), el("td", { text: (e.fromPhase ? e.fromPhase + " -> " : "") + e.toPhase }),
      el("td", { text: e.weight + "%" }), el("td", { class: "reason", text: e.reason }),
      el("td", {}, [e.explanation !== undefined && e.explanation !== null ? details("a-" + e.route + "-" + e.id, "show", e.explanation) : el("span", { class: "muted", text: "-" })])]);
  });
  $("audit").replaceChildren(head);
  rows.forEach(function (r) { $("audit").append(r); });
  if (!events.length) $("audit").append(el("tr", {}, [el("td", { class: "muted", colspan: 8, text: "no events yet" })]));
}

async function refresh() {
  var got = await Promise.allSettled([api("/status"), api("/events?limit=" + SETTINGS.eventsLimit)]);
  if (got[0].status === "fulfilled") {
    var status = got[0].value, seen = new Set();
    setError("status", status.configError ? "config error: " + status.configError.join("; ") : null);
    status.routes.forEach(function (r) { seen.add(r.id); drawRoute(r); });
    cards.forEach(function (c, id) { if (!seen.has(id)) { c.root.remove(); cards.delete(id); setError("shadow-" + id, null); } });
    await refreshShadow(status.routes);
    $("updated").textContent = "live, updated " + clock(Date.now()) + (status.sync ? ", edge sync every " + status.sync.intervalMs + " ms" : "");
  } else setError("status", got[0].reason.message);
  if (got[1].status === "fulfilled") { setError("events", null); drawAudit(got[1].value.events); }
  else setError("events", got[1].reason.message);
}

(function loop() {
  (document.hidden ? Promise.resolve() : refresh().catch(function (e) { setError("status", String(e)); }))
    .then(function () { setTimeout(loop, POLL_MS); });
})();
`;

/** JSON safe inside a script element: no `<`, `>` or `&` that could end it or open a comment. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** The dashboard page; `nonce` matches the response's CSP. */
export function dashboardPage(settings: DashboardSettings, nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>edge-canary dashboard</title><style nonce="${nonce}">${CSS}${SHADOW_CSS}${RINGS_CSS}${METRICS_CSS}</style></head>
<body>
<script type="application/json" id="settings">${scriptJson(settings)}</script>
<header><h1>edge-canary</h1><span id="updated">connecting...</span></header>
<main>
<div id="errors" role="alert" hidden></div>
<div id="routes"></div>
<section class="audit"><h2>Audit log <span class="muted">(newest first)</span></h2><table id="audit"></table></section>
</main>
<script nonce="${nonce}">${JS}</script>
</body></html>`;
}

/** The 401 page: how to log in, and nothing of the dashboard. */
export function loginPage(base: string, why: string, nonce: string): string {
  const b = esc(base);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edge-canary: log in</title>
<style nonce="${nonce}">body{font:15px/1.5 system-ui,sans-serif;max-width:640px;margin:40px auto;padding:0 16px}code{background:#f3f4f6;padding:1px 4px}</style></head>
<body><h1>edge-canary: log in</h1><p><b>${esc(why)}</b></p>
<p>Open <code>${b}/?token=&lt;ADMIN_TOKEN&gt;</code> once: the token is exchanged for an HttpOnly session cookie and removed from the address bar.</p>
<form method="get" action="${b}/"><label>ADMIN_TOKEN <input type="password" name="token" autocomplete="off" required></label> <button>Log in</button></form>
<p>Scripts use the API directly: <code>curl -H "authorization: Bearer $ADMIN_TOKEN" https://&lt;host&gt;${b}/api/status</code></p>
</body></html>`;
}
