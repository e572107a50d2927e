// Charts of the last five minutes, drawn from /debug/stats, which the page
// polls every second and keeps here: messages/s, restarts/s, queued
// messages and the Go heap. Loaded after app.js (getJSON, el, POLL_MS).
"use strict";

const HISTORY = 300; // samples: five minutes at one a second
const samples = [];
const charts = [
  { id: "messages", title: "messages/s", value: (s, prev) => rate(s, prev, "handled") },
  { id: "restarts", title: "restarts/s", value: (s, prev) => rate(s, prev, "restarts") },
  { id: "mailbox", title: "queued messages", value: (s) => s.mailbox_depth, note: (s) => s.max_mailbox > 0 ? "fullest: " + (s.max_mailbox_at || "(root)") + " " + s.max_mailbox : "" },
  { id: "heap", title: "heap MiB", value: (s) => s.heap_bytes / (1 << 20) },
];

// rate is a counter's increase per second between two samples; a counter
// that fell (dynamic children gone) counts as no increase.
function rate(s, prev, key) {
  if (!prev) return 0;
  const dt = (Date.parse(s.time) - Date.parse(prev.time)) / 1000;
  return dt > 0 ? Math.max(0, s[key] - prev[key]) / dt : 0;
}

async function pollStats() {
  try {
    const s = await getJSON("/debug/stats");
    const prev = samples.length ? samples[samples.length - 1].raw : null;
    const point = { raw: s };
    for (const c of charts) point[c.id] = c.value(s, prev);
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
    const values = samples.map((p) => p[c.id]);
    const top = Math.max(1e-9, ...values);
    const now = values[values.length - 1];
    box.querySelector(".chart-value").textContent = fmt(now) + (c.note ? "  " + c.note(last) : "");
    box.querySelector(".chart-max").textContent = "max " + fmt(top === 1e-9 ? 0 : top);
    const pts = values.map((v, i) => {
      const x = W - (values.length - 1 - i) * (W / (HISTORY - 1));
      const y = H - 2 - (v / top) * (H - 4);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    box.querySelector("polyline").setAttribute("points", pts.join(" "));
  }
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
    root.append(box);
  }
  pollStats();
});
