// The process table: one page of /debug/processes, sorted by a column,
// searched by path or script, polled like the tree. A row opens the
// process's details, as a click in the tree does. Loaded after app.js,
// whose el, getJSON, select and POLL_MS it uses.
"use strict";

const PAGE_ROWS = 50;
// seq counts changes of view: an answer to a request made before the
// latest change is dropped, so a slow poll cannot undo a click.
const tableView = { sort: "mailbox", order: "", q: "", offset: 0, seq: 0 };
const tableColumns = [
  ["id", "id"], ["path", "path"], ["status", "status"], ["incarnation", "incarnation"],
  ["restarts", "restarts"], ["mailbox", "mailbox_depth"], ["handled", "handled"], ["busy", "busy_ms"],
  ["cpu", "cpu_us"], ["memory", "memory_bytes"], ["crashes", "crashes"],
];
const columnTitles = { busy: "busy ms", cpu: "cpu time", memory: "memory" };

async function pollTable() {
  try {
    const params = new URLSearchParams({ sort: tableView.sort, offset: tableView.offset, limit: PAGE_ROWS });
    if (tableView.order) params.set("order", tableView.order);
    if (tableView.q) params.set("q", tableView.q);
    const seq = tableView.seq;
    const page = await getJSON("/debug/processes?" + params);
    if (seq === tableView.seq) drawTable(page);
  } catch (e) {
    // The tree's poll reports an unreachable node.
  }
  setTimeout(pollTable, POLL_MS);
}

function drawTable(page) {
  const body = document.getElementById("table-body");
  const rows = [];
  for (const p of page.processes) {
    const tr = el("tr", p.id === selected ? "selected" : "");
    tr.dataset.id = p.id;
    tr.dataset.path = p.path;
    for (const [, key] of tableColumns) {
      if (key === "status") {
        const td = el("td");
        td.append(el("span", "status " + p.status, p.status));
        tr.append(td);
      } else if (key === "path") {
        tr.append(el("td", "path", p.path || "(root)"));
      } else if (key === "cpu_us") {
        tr.append(el("td", "num", fmtCPU(p.cpu_us)));
      } else if (key === "memory_bytes") {
        tr.append(el("td", "num", fmtBytes(p.memory_bytes)));
      } else {
        tr.append(el("td", "num", p[key]));
      }
    }
    if (p.turn_held_ms > 0) tr.classList.add("held");
    tr.addEventListener("click", () => select(p.id));
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  const last = Math.min(page.total, page.offset + page.processes.length);
  document.getElementById("table-total").textContent = page.total + " processes";
  document.getElementById("table-page").textContent =
    page.total ? (page.offset + 1) + "–" + last + " of " + page.total : "none";
  document.getElementById("table-prev").disabled = page.offset === 0;
  document.getElementById("table-next").disabled = last >= page.total;
  document.querySelectorAll("#table th").forEach((th) => {
    th.classList.toggle("sorted", th.dataset.sort === page.sort);
    th.dataset.order = th.dataset.sort === page.sort ? page.order : "";
  });
  tableView.order = page.order;
}

document.addEventListener("DOMContentLoaded", () => {
  const head = document.querySelector("#table thead tr");
  for (const [sort] of tableColumns) {
    const th = el("th", "", columnTitles[sort] || sort);
    th.dataset.sort = sort;
    th.title = "sort by " + sort;
    th.addEventListener("click", () => {
      // A second click on the sorted column turns the order round.
      tableView.order = tableView.sort === sort ? (tableView.order === "asc" ? "desc" : "asc") : "";
      tableView.sort = sort;
      tableView.offset = 0;
      pollNow();
    });
    head.append(th);
  }
  document.getElementById("table-q").addEventListener("input", (ev) => {
    tableView.q = ev.target.value.trim();
    tableView.offset = 0;
    pollNow();
  });
  document.getElementById("table-search").addEventListener("submit", (ev) => ev.preventDefault());
  document.getElementById("table-prev").addEventListener("click", () => {
    tableView.offset = Math.max(0, tableView.offset - PAGE_ROWS);
    pollNow();
  });
  document.getElementById("table-next").addEventListener("click", () => {
    tableView.offset += PAGE_ROWS;
    pollNow();
  });
  pollTable();
});

// pollNow redraws the table at once after a change of view.
async function pollNow() {
  const params = new URLSearchParams({ sort: tableView.sort, offset: tableView.offset, limit: PAGE_ROWS });
  if (tableView.order) params.set("order", tableView.order);
  if (tableView.q) params.set("q", tableView.q);
  const seq = ++tableView.seq;
  try {
    const page = await getJSON("/debug/processes?" + params);
    if (seq === tableView.seq) drawTable(page);
  } catch (e) { /* the poll retries */ }
}
