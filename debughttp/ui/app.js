// The live view of a Cloister node: it polls /debug/tree and redraws the
// tree in place. Every string from the node is set as text, never as HTML:
// names come from the manifest and crash reports from tenant scripts.
"use strict";

const POLL_MS = 1000;
const TREE_CHILDREN = 200; // children shown per supervisor; the table pages through all
let token = sessionStorage.getItem("cloister-token") || "";
let selected = null; // id of the process whose details are shown
const collapsed = new Set(); // ids of the supervisors whose children are hidden

// A token can also come in the fragment (#token=...), which never reaches the server.
(function tokenFromFragment() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    token = decodeURIComponent(m[1]);
    sessionStorage.setItem("cloister-token", token);
    history.replaceState(null, "", location.pathname);
  }
})();

function headers() {
  return token ? { Authorization: "Bearer " + token } : {};
}

async function getJSON(path) {
  const r = await fetch(path, { headers: headers(), cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}

// render draws p into li, reusing li so the page does not flicker.
function render(li, p) {
  li.className = "proc" + (p.id === selected ? " selected" : "");
  li.dataset.id = p.id;
  li.dataset.path = p.path;
  li.dataset.status = p.status;
  li.replaceChildren();
  const row = el("div", "row");
  const hasChildren = p.children && p.children.length > 0;
  const toggle = el("span", "toggle", hasChildren ? (collapsed.has(p.id) ? "▸" : "▾") : "");
  if (hasChildren) {
    toggle.title = collapsed.has(p.id) ? "show the children" : "hide the children";
    toggle.addEventListener("click", (ev) => {
      ev.stopPropagation();
      if (collapsed.has(p.id)) collapsed.delete(p.id); else collapsed.add(p.id);
      render(li, p);
    });
  }
  row.append(
    toggle,
    el("span", "status " + p.status, p.status),
    el("span", "name", p.name || "(root)"),
    el("span", "kind", p.kind === "supervisor" ? (p.strategy || "supervisor") : (p.script || "worker")),
  );
  const restarts = el("span", "num", "");
  restarts.append("restarts ", el("b", "restarts", p.restarts));
  const mailbox = el("span", "num", "");
  mailbox.append("mailbox ", el("b", "mailbox", p.mailbox_depth));
  const inc = el("span", "num", "");
  inc.append("#", el("b", "incarnation", p.incarnation));
  row.append(restarts, mailbox, inc, el("span", "num id", "id " + p.id));
  if (p.turn_held_ms > 0) row.append(el("span", "num crashes", "turn held " + (p.turn_held_ms / 1000).toFixed(1) + " s: receive awaits; use ctx.deferReply()"));
  if (p.crashes > 0) row.append(el("span", "num crashes", p.crashes + " crash report" + (p.crashes > 1 ? "s" : "")));
  row.addEventListener("click", (ev) => { ev.stopPropagation(); select(p.id); });
  li.append(row);
  if (hasChildren && collapsed.has(p.id)) {
    row.append(el("span", "num", (p.children.length + (p.more_children || 0)) + " hidden"));
  } else if (hasChildren) {
    const ul = el("ul");
    for (const c of p.children) {
      const cli = el("li");
      render(cli, c);
      ul.append(cli);
    }
    if (p.more_children > 0) {
      ul.append(el("li", "more num", "… and " + p.more_children + " more: search the process table"));
    }
    li.append(ul);
  }
}

function setConn(state, text) {
  const c = document.getElementById("conn");
  c.dataset.state = state;
  c.textContent = text;
}

async function poll() {
  try {
    const tree = await getJSON("/debug/tree?children=" + TREE_CHILDREN);
    const ul = document.getElementById("tree");
    let li = ul.firstElementChild;
    if (!li) { li = el("li"); ul.append(li); }
    render(li, tree);
    setConn("live", "live · " + new Date().toLocaleTimeString());
    if (selected !== null) await showDetail(selected);
  } catch (e) {
    setConn("down", "unreachable (" + e.message + ")");
  }
  setTimeout(poll, POLL_MS);
}

async function select(id) {
  selected = id;
  document.querySelectorAll(".proc.selected").forEach((n) => n.classList.remove("selected"));
  const li = document.querySelector('.proc[data-id="' + id + '"]');
  if (li) li.classList.add("selected");
  document.getElementById("action-result").textContent = "";
  // A link to this process: /#/processes/<id>.
  history.replaceState(null, "", "#/processes/" + id);
  await showDetail(id);
  await showState(id);
}

// showState shows what the process's inspect() returns, once per
// selection: inspect runs script code in the process.
async function showState(id) {
  const pre = document.getElementById("detail-state");
  pre.textContent = "…";
  try {
    const st = await getJSON("/debug/processes/" + id + "/state");
    if (selected === id) pre.textContent = "incarnation " + st.incarnation + ": " + JSON.stringify(st.state, null, 2);
  } catch (e) {
    if (selected === id) pre.textContent = "none (" + e.message + ")";
  }
}

function fact(dl, k, v) {
  dl.append(el("dt", "", k), el("dd", "", v));
}

async function showDetail(id) {
  let d;
  try {
    d = await getJSON("/debug/processes/" + id);
  } catch (e) {
    return;
  }
  const pane = document.getElementById("detail-pane");
  pane.hidden = false;
  pane.dataset.id = d.id;
  document.getElementById("detail-title").textContent = (d.path || "(root)") + " — " + d.kind;
  const dl = document.getElementById("detail-facts");
  dl.replaceChildren();
  fact(dl, "id", d.id);
  fact(dl, "status", d.status);
  fact(dl, "incarnation", d.incarnation);
  fact(dl, "restarts", d.restarts);
  if (d.script) fact(dl, "script", d.script);
  if (d.strategy) fact(dl, "strategy", d.strategy);
  fact(dl, "mailbox", d.mailbox.depth + (d.mailbox.bytes !== undefined ? " (" + d.mailbox.bytes + " bytes)" : ""));
  fact(dl, "handled", d.counters.handled);
  if (d.kind === "worker") {
    fact(dl, "cpu time", fmtCPU(d.counters.cpu_us));
    fact(dl, "memory", fmtBytes(d.counters.memory_bytes));
  }
  if (d.limits) fact(dl, "limits", "cpu " + d.limits.cpu + ", stack " + d.limits.stack + ", message " + d.limits.message_bytes + " B, timers " + d.limits.timers);
  fact(dl, "shutdown", d.shutdown);
  const caps = document.getElementById("detail-caps");
  caps.replaceChildren();
  for (const c of d.capabilities) caps.append(el("li", "", c.name + " → " + (c.target || "(root)") + " [" + c.rights.join(", ") + "]"));
  if (!d.capabilities.length) caps.append(el("li", "", "none"));
  const crashes = document.getElementById("detail-crashes");
  crashes.replaceChildren();
  for (const c of d.crashes.slice().reverse()) {
    const li = el("li", "crash");
    li.append(el("div", "", c.time + " · incarnation " + c.incarnation + " · " + c.reason + (c.restarted ? " · restarted" : "")));
    if (c.error) li.append(el("div", "crash-error", c.error));
    if (c.message !== undefined) li.append(el("pre", "crash-message", "message: " + JSON.stringify(c.message)));
    if (c.stack) li.append(el("pre", "crash-stack", c.stack));
    crashes.append(li);
  }
  if (!d.crashes.length) crashes.append(el("li", "", "none"));
  document.getElementById("actions").hidden = !token || d.parent === undefined;
}

async function act(action) {
  if (selected === null) return;
  const out = document.getElementById("action-result");
  const r = await fetch("/debug/processes/" + selected + "/" + action, { method: "POST", headers: headers() });
  let msg = r.status + "";
  try { const b = await r.json(); msg += " " + (b.error || b.action + " requested"); } catch (e) { /* no body */ }
  out.textContent = msg;
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("token").value = token;
  document.getElementById("auth").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = document.getElementById("token").value.trim();
    if (token) sessionStorage.setItem("cloister-token", token); else sessionStorage.removeItem("cloister-token");
    if (selected !== null) showDetail(selected);
  });
  document.querySelectorAll("#actions button").forEach((b) => b.addEventListener("click", () => act(b.dataset.action)));
  const link = /^#\/processes\/(\d{1,20})$/.exec(location.hash);
  if (link) select(Number(link[1]));
  poll();
});

// fmtCPU shows microseconds of CPU time in ms or s.
function fmtCPU(us) {
  if (us >= 1e6) return (us / 1e6).toFixed(2) + " s";
  return (us / 1e3).toFixed(us >= 1e5 ? 0 : 1) + " ms";
}

// fmtBytes shows a byte count in B, KiB or MiB.
function fmtBytes(b) {
  if (b >= 1 << 20) return (b / (1 << 20)).toFixed(1) + " MiB";
  if (b >= 1 << 10) return (b / (1 << 10)).toFixed(1) + " KiB";
  return b + " B";
}
