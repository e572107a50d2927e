// Charts of the last five minutes, drawn from /debug/stats, which the page
// polls every second and keeps here: messages/s, restarts/s, crashes by
// reason, queued messages, the Go heap, and memory of the node and of its
// top actors. Loaded after app.js (getJSON, el, POLL_MS).
"use strict";

const HISTORY = 300; // samples: five minutes at one a second
const samples = [];
const MIB = 1 << 20;
// A chart has one line (value) or several (series: name → value, each
// drawn in its own colour and named in the legend).
const charts = [
  { id: "messages", title: "messages/s", value: (s, prev) => rate(s, prev, "handled") },
  { id: "restarts", title: "restarts/s", value: (s, prev) => rate(s, prev, "restarts") },
  { id: "crashes", title: "crashes by reason", series: crashesByReason, total: true },
  { id: "mailbox", title: "queued messages", value: (s) => s.mailbox_depth, note: (s) => s.max_mailbox > 0 ? "fullest: " + (s.max_mailbox_at || "(root)") + " " + s.max_mailbox : "" },
  { id: "heap", title: "heap MiB", value: (s) => s.heap_bytes / MIB },
  { id: "memory", title: "memory MiB: node and top actors", series: memoryByOwner },
];
const COLOURS = ["#1c7ed6", "#e03131", "#2f9e44", "#f08c00", "#7048e8", "#0c8599", "#c2255c", "#5c940d", "#495057", "#862e9c"];

// crashesByReason is each reason's crashes since the previous sample.
function crashesByReason(s, prev) {
  const out = {};
  for (const [reason, n] of Object.entries(s.crashes || {})) {
    out[reason] = prev ? Math.max(0, n - ((prev.crashes || {})[reason] || 0)) : 0;
  }
  return out;
}

// rate is a counter's increase per second between two samples; a counter
// that fell (dynamic children gone) counts as no increase.
function rate(s, prev, key) {
  if (!prev) return 0;
  const dt = (Date.parse(s.time) - Date.parse(prev.time)) / 1000;
  return dt > 0 ? Math.max(0, s[key] - prev[key]) / dt : 0;
}

// memoryByOwner is the node's heap and the top actors' memory, in MiB.
function memoryByOwner(s) {
  const out = { "node heap": s.heap_bytes / MIB };
  for (const m of s.top_memory || []) out[m.path || "(root)"] = m.bytes / MIB;
  return out;
}

async function pollStats() {
  try {
    const s = await getJSON("/debug/stats");
    const prev = samples.length ? samples[samples.length - 1].raw : null;
    const point = { raw: s };
    for (const c of charts) point[c.id] = c.series ? c.series(s, prev) : c.value(s, prev);
    samples.push(point);
    if (samples.length > HISTORY) samples.shift();
    drawCharts(s);
  } catch (e) {
    // The tree's poll reports an unreachable node.
  }
  setTimeout(pollStats, POLL_MS);
}

const SVG = "http://www.w3.org/2000/svg";
const W = 300, H = 60;

function drawCharts(last) {
  for (const c of charts) {
    const box = document.getElementById("chart-" + c.id);
    const lines = c.series ? seriesOf(c) : [{ name: "", values: samples.map((p) => p[c.id]) }];
    const top = Math.max(1e-9, ...lines.flatMap((l) => l.values.filter((v) => v !== undefined)));
    if (c.series) {
      drawLegend(box, c, lines);
      box.querySelector(".chart-value").textContent = "";
    } else {
      const now = lines[0].values[lines[0].values.length - 1];
      box.querySelector(".chart-value").textContent = fmt(now) + (c.note ? "  " + c.note(last) : "");
    }
    box.querySelector(".chart-max").textContent = "max " + fmt(top === 1e-9 ? 0 : top);
    const svg = box.querySelector("svg");
    const polys = lines.map((l) => {
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("fill", "none");
      line.setAttribute("stroke", l.colour || COLOURS[0]);
      line.setAttribute("stroke-width", "1.5");
      if (l.name) line.dataset.series = l.name;
      const pts = [];
      l.values.forEach((v, i) => {
        if (v === undefined) return; // not among the top actors then
        const x = W - (l.values.length - 1 - i) * (W / (HISTORY - 1));
        const y = H - 2 - (v / top) * (H - 4);
        pts.push(x.toFixed(1) + "," + y.toFixed(1));
      });
      line.setAttribute("points", pts.join(" "));
      return line;
    });
    svg.replaceChildren(...polys);
  }
}

// seriesOf is a multi-line chart's lines over the samples kept: for
// crashes every reason seen in the window, for memory the owners in the
// latest sample (an actor that left the top is no longer drawn).
function seriesOf(c) {
  const names = new Set();
  if (c.total) {
    for (const p of samples) for (const name of Object.keys(p[c.id])) names.add(name);
  } else if (samples.length) {
    for (const name of Object.keys(samples[samples.length - 1][c.id])) names.add(name);
  }
  return [...names].slice(0, COLOURS.length).map((name, k) => ({
    name, colour: COLOURS[k], values: samples.map((p) => p[c.id][name]),
  }));
}

// drawLegend names each line: for crashes the total in the window, for
// memory the latest value.
function drawLegend(box, c, lines) {
  const legend = box.querySelector(".chart-legend");
  legend.replaceChildren(...lines.map((l) => {
    const vals = l.values.filter((v) => v !== undefined);
    const shown = c.total ? vals.reduce((a, b) => a + b, 0) : vals[vals.length - 1];
    const item = el("span", "chart-series", l.name + " " + fmt(shown));
    item.style.borderColor = l.colour;
    item.dataset.series = l.name;
    return item;
  }));
  if (!lines.length) legend.append(el("span", "chart-series", "none"));
}

function fmt(v) {
  if (v >= 100) return Math.round(v).toString();
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("charts");
  for (const c of charts) {
    const box = el("figure", "chart");
    box.id = "chart-" + c.id;
    const cap = el("figcaption");
    cap.append(el("span", "chart-title", c.title), el("b", "chart-value", "…"), el("span", "chart-max num", ""));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("preserveAspectRatio", "none");
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#1c7ed6");
    line.setAttribute("stroke-width", "1.5");
    svg.append(line);
    box.append(cap, svg);
    if (c.series) box.append(el("div", "chart-legend"));
    root.append(box);
  }
  pollStats();
});
