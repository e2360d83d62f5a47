// The dashboard's ring parts, spliced into the page's script and style
// (dashboard-page.ts): the plan as the coordinator reports it (CoordinatorStatus.plan,
// each stage by its label with the current one marked), and the "Rings" panel of a
// route whose plan has ring stages (CoordinatorStatus.rings: the share of each audience
// the canary serves, requests and users per arm, and the baseline its canary is compared
// with). A server from before ring stages sends neither: the plan then comes from the
// state's stage labels and the panel stays hidden. Plain browser JS in the page's own
// idiom (el(), num()); every server string reaches the DOM through textContent only.

export const RINGS_CSS = `
.step.ring{border-color:#fcd34d;color:#92400e}.step.ring.done{background:#fef3c7;color:#92400e}.step.ring.cur{background:#d97706;color:#fff;border-color:#d97706}
.rings-panel{margin-top:10px}.rings-panel table{border-collapse:collapse;width:100%}.rings-panel tr.cur td{font-weight:700;background:#fffbeb}
.rings-panel td.n{text-align:right}
`;

// No template literals inside (the page's script is a TS template string too).
export const RINGS_JS = `
var BASELINES = { ring: "ring's stable users", all: "all stable users" };

/** A ring stage's label names an audience ("staff 100%", "staff+nz 100%"); a stage of everyone is a bare share. */
function isRingLabel(label) { return !isShadowLabel(label) && !/^[0-9.]+%$/.test(String(label)); }

/**
 * The plan as [{ label, current }]: the coordinator's (s.plan), or from the state's labels
 * (the current stage only while progressing or paused) for a server before ring stages.
 */
function planStages(s) {
  var st = s.state;
  if (s.plan) return s.plan.map(function (p) { return { label: p.label, current: !!p.current, ring: p.kind === "live" && !!p.audience }; });
  var active = st && (st.phase === "progressing" || st.phase === "paused");
  return stageLabels(st).map(function (label, i) { return { label: label, current: active && i === st.stepIndex, ring: isRingLabel(label) }; });
}

/** The rings panel: one row per ring, the current stage's ring marked; hidden without rings. */
function drawRings(c, s) {
  var rings = s.rings || [];
  c.rings.hidden = rings.length === 0;
  if (rings.length === 0) { c.rings.replaceChildren(); return; }
  var cell = function (v) { return el("td", { class: "n", text: v === null || v === undefined ? "-" : v }); };
  var head = el("tr", {}, ["ring", "share", "canary requests", "canary users", "canary errors", "stable requests", "stable users", "baseline"].map(function (t) { return el("th", { text: t }); }));
  var rows = rings.map(function (g) {
    return el("tr", { "data-test": "ring-row", "data-ring": g.key, class: g.current ? "cur" : null, title: g.current ? "the current stage's ring" : null }, [
      el("td", { text: g.key }), cell(g.percent + "%"),
      cell(g.canary.requests), cell(g.canary.users), cell(g.canary.errors), cell(g.stable.requests), cell(g.stable.users),
      el("td", { text: BASELINES[g.baseline] || g.baseline })]);
  });
  c.rings.replaceChildren(el("b", { text: "Rings" }),
    el("span", { class: "muted", text: " share: of each audience, served by the canary (exposure only grows along the plan); requests and users in this rollout; everyone else counts in the totals only" }),
    el("table", { "data-test": "rings-table" }, [head].concat(rows)));
}
`;
