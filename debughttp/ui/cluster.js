// The cluster section of the live view: this node's peers from
// /debug/cluster, one row each, redrawn every poll. A node that is not
// clustered answers 404: the section stays hidden and polling stops.
// Loaded after app.js (getJSON, el, POLL_MS, fmtBytes).
"use strict";

const CLUSTER_COLUMNS = [
  ["node", (p) => p.name],
  ["status", (p) => (p.up ? "up" : "down")],
  ["incarnation", (p) => p.incarnation || "—"],
  ["frames out", (p) => p.frames_out],
  ["frames in", (p) => p.frames_in],
  ["bytes out", (p) => fmtBytes(p.bytes_out)],
  ["bytes in", (p) => fmtBytes(p.bytes_in)],
  ["queued", (p) => p.queued + (p.stalled ? " (window full)" : "")],
  ["pending", (p) => p.pending],
  ["monitors", (p) => p.monitors + " / " + p.watched],
  ["links", (p) => p.links],
  ["losses", (p) => p.losses],
];

function drawCluster(c) {
  const pane = document.getElementById("cluster-pane");
  pane.hidden = false;
  document.getElementById("cluster-self").textContent =
    c.node + " · incarnation " + c.incarnation + " · " + c.peers_up + " of " + c.peers.length + " peers up · " +
    c.exports + " capabilities exported";
  const head = document.querySelector("#cluster-table thead tr");
  if (!head.firstChild) CLUSTER_COLUMNS.forEach(([name]) => head.append(el("th", null, name)));
  const body = document.getElementById("cluster-body");
  const rows = c.peers.map((p) => {
    const tr = el("tr", p.up ? "up" : "down");
    tr.dataset.peer = p.name;
    CLUSTER_COLUMNS.forEach(([name, f], i) => tr.append(el("td", i > 2 ? "num" : null, f(p))));
    return tr;
  });
  body.replaceChildren(...rows);
  const t = c.transport;
  const drops = t ? Object.values(t.drops).reduce((a, b) => a + b, 0) : 0;
  document.getElementById("cluster-transport").textContent = t
    ? "dropped " + drops + " · refused: backpressure " + t.refusals.backpressure + ", no connection " +
      t.refusals.no_connection + " · window stalls " + t.window_stalls
    : "";
}

async function pollCluster() {
  try {
    const r = await fetch("/debug/cluster", { headers: headers(), cache: "no-store" });
    if (r.status === 404) return; // not clustered: nothing to show, ever
    if (r.ok) drawCluster(await r.json());
  } catch (e) {
    /* the node is unreachable: app.js says so */
  }
  setTimeout(pollCluster, POLL_MS);
}

document.addEventListener("DOMContentLoaded", pollCluster);
