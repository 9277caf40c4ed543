// otpy observer: draws the state the observer pushes over its websocket. No framework, no
// build step, nothing fetched from elsewhere. Every value from the server is put in the page
// with textContent, never as HTML.
"use strict";

const TOKEN_KEY = "otpy-observer-token";
const HIGHLIGHT_SECONDS = 3;
const params = new URLSearchParams(location.search);
let token = params.get("token") || sessionStorage.getItem(TOKEN_KEY) || "";
if (params.get("token")) {
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, "", location.pathname); // keep the token out of the address bar
}

let state = null;
let events = [];
let failures = 0;
let selected = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "onclick") node.addEventListener("click", v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = token ? "?token=" + encodeURIComponent(token) : "";
  const ws = new WebSocket(`${scheme}://${location.host}/ws${query}`);
  const link = document.getElementById("link");
  let opened = false;
  ws.onopen = () => {
    opened = true; failures = 0; events = [];
    link.textContent = "live"; link.className = "link live";
  };
  ws.onmessage = (e) => {
    const data = JSON.parse(e.data);
    const last = events.length ? events[events.length - 1].seq : 0;
    events = events.concat(data.events.filter((ev) => ev.seq > last)).slice(-300);
    state = data;
    render();
  };
  ws.onclose = () => {
    if (!opened) failures += 1;
    // refused again and again: the observer is gone, or was restarted with a new token
    link.textContent = failures >= 3
      ? "cannot connect: if the observer was restarted, open the address it printed"
      : "disconnected: retrying";
    link.className = "link";
    setTimeout(connect, 1000);
  };
}

function byPid(pid) { return state.processes.find((p) => p.pid === pid) || null; }
function supOf(pid) { return state.supervisors.find((s) => s.pid === pid) || null; }
function fmtSeconds(s) {
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.floor(s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}
function clock(t) { return new Date(t * 1000).toLocaleTimeString([], { hour12: false }); }

let drawnTree = "";

function treeKey() {
  // what the tree shows: it is redrawn only when this changes, so that a row under the pointer
  // is not replaced at every push
  const fresh = (c) => c.restarted_at && state.taken_at - c.restarted_at < HIGHLIGHT_SECONDS;
  return JSON.stringify([selected, state.roots,
    state.supervisors.map((s) => [s.pid, s.restarts_in_window, s.children.map((c) => [c.id, c.pid, c.status, c.restarts, fresh(c)])]),
    state.processes.map((p) => [p.pid, p.name, p.label, p.status && p.status.state])]);
}

function render() {
  const procs = state.processes.length;
  document.getElementById("summary").textContent =
    `${procs} processes, ${state.supervisors.length} supervisors, updated ${clock(state.taken_at)}`;
  const key = treeKey();
  if (key !== drawnTree) { drawnTree = key; renderTrees(); }
  renderDetails();
  renderEvents();
}

function renderTrees() {
  const trees = document.getElementById("trees");
  trees.replaceChildren(...state.roots.map((pid) => {
    const ul = el("ul", { class: "tree" });
    ul.append(supervisorItem(pid, null, null));
    return ul;
  }));
  if (!state.roots.length) trees.replaceChildren(el("p", { class: "hint" }, "No supervisor is running."));
  const inTree = new Set();
  for (const s of state.supervisors) {
    inTree.add(s.pid);
    for (const c of s.children) if (c.pid) inTree.add(c.pid);
  }
  const others = state.processes.filter((p) => !inTree.has(p.pid));
  document.getElementById("others").replaceChildren(...others.map((p) => el("li", {},
    processRow(p, null, null))));
}

function supervisorItem(pid, child, parent) {
  const sup = supOf(pid);
  const li = el("li", {});
  const p = byPid(pid);
  const row = processRow(p, child, parent);
  if (sup) {
    row.insertBefore(el("span", { class: "dim window" },
      `restarts ${sup.restarts_in_window}/${sup.max_restarts} in ${sup.max_seconds} s`),
    row.querySelector(".actions"));
    row.insertBefore(el("span", { class: "badge" }, sup.dynamic ? "dynamic " + sup.strategy : sup.strategy),
      row.querySelector(".window"));
  }
  li.append(row);
  if (sup && sup.children.length) {
    const ul = el("ul", {});
    for (const c of sup.children) {
      if (c.pid && supOf(c.pid)) ul.append(supervisorItem(c.pid, c, sup)); // also a supervisor given type "worker"
      else ul.append(el("li", {}, processRow(c.pid ? byPid(c.pid) : null, c, sup)));
    }
    li.append(ul);
  }
  return li;
}

function processRow(p, child, parent) {
  const pid = p ? p.pid : (child ? child.pid : null);
  const restartedAt = child && child.restarted_at;
  const fresh = restartedAt && state.taken_at - restartedAt < HIGHLIGHT_SECONDS;
  const row = el("div", {
    class: "node" + (pid && pid === selected ? " selected" : "") + (fresh ? " restarted" : "")
      + (child ? " child" : " process"),
    "data-pid": pid, "data-id": child ? child.id : null,
    onclick: () => { if (pid) { selected = pid; render(); } },
  });
  row.append(el("span", { class: "id" }, child ? child.id : (p.label || "process")));
  row.append(el("span", { class: "pid" }, pid || "-"));
  if (p && p.name && (!child || p.name !== child.id)) row.append(el("span", { class: "name" }, `[${p.name}]`));
  if (child) {
    row.append(el("span", { class: "status status-" + child.status }, child.status));
    row.append(el("span", { class: "restarts" }, `restarts ${child.restarts}`));
  }
  if (p && p.status_type === "wsclient.Stats" && p.status) {
    row.append(el("span", { class: "state-" + p.status.state }, p.status.state));
  }
  const actions = el("span", { class: "actions" });
  if (child && parent && !parent.dynamic && child.restart !== "temporary") actions.append(actionButton("restart", pid, child.id, "restart child"));
  if (child && parent && pid) actions.append(actionButton("terminate", pid, child.id, "terminate"));
  // an external process is a plain task (the program's main one, often): killing it from here
  // would end the program, so the page does not offer it
  if (pid && !(p && p.kind === "external")) actions.append(actionButton("kill", pid, child ? child.id : null, "kill", true));
  row.append(actions);
  return row;
}

function actionButton(action, pid, label, text, danger) {
  return el("button", {
    class: danger ? "danger" : null, "data-action": action, type: "button",
    onclick: (e) => { e.stopPropagation(); act(action, pid, label); },
  }, text);
}

async function act(action, pid, label) {
  const what = label ? `${label} (${pid})` : pid;
  if (!confirm(`${action} ${what}?`)) return;
  if (!token) {
    const given = prompt("Actions need the observer's token: the one in the address it printed at start.");
    if (!given) return;
    token = given.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
  }
  const notice = document.getElementById("notice");
  try {
    const r = await fetch("/api/action", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Observer-Token": token },
      body: JSON.stringify({ action, pid }),
    });
    const body = await r.json();
    if (r.status === 401) { token = ""; sessionStorage.removeItem(TOKEN_KEY); }
    notice.className = r.ok ? "" : "error";
    notice.textContent = r.ok ? body.result : `${action} refused: ${body.error}`;
  } catch (err) {
    notice.className = "error";
    notice.textContent = `${action} failed: ${err}`;
  }
}

function renderDetails() {
  const box = document.getElementById("details");
  const p = selected && byPid(selected);
  if (!p) {
    if (selected) box.replaceChildren(el("p", { class: "hint" }, `${selected} is not alive any more.`));
    return;
  }
  const rows = [
    ["pid", p.pid], ["names", p.names.join(", ") || "-"], ["kind", p.kind],
    ["callback module", p.module || p.label || "-"], ["uptime", fmtSeconds(p.uptime)],
    ["mailbox", p.message_queue_len], ["links", p.links.join(" ") || "-"],
    ["monitors", p.monitors.join(" ") || "-"], ["monitored by", p.monitored_by.join(" ") || "-"],
    ["traps exits", p.trap_exit ? "yes" : "no"], ["helper tasks", p.helpers],
  ];
  const parts = [table(rows, "process")];
  if (p.status_type === "wsclient.Stats" && p.status) parts.push(...clientDetails(p));
  else if (p.status) parts.push(el("h2", {}, "Status"), el("pre", { class: "mono" }, JSON.stringify(p.status, null, 2)));
  parts.push(el("p", {}, el("button", { type: "button", onclick: () => {
    document.getElementById("filter").value = p.name || p.pid; renderEvents();
  } }, "show its events")));
  box.replaceChildren(...parts);
}

function clientDetails(p) {
  const s = p.status;
  const rates = p.rates || [];
  const rate = rates.length ? rates[rates.length - 1] : 0;
  let state = s.state;
  if (s.state === "backoff" && s.next_retry_at) state += `, next try in ${Math.max(s.next_retry_at - state_now(), 0).toFixed(1)} s`;
  if (s.state === "connected" && s.connected_since) state += ` for ${fmtSeconds(state_now() - s.connected_since)}`;
  const rows = [
    ["state", state], ["url", s.url], ["messages per second", rate.toFixed(1)],
    ["frames in / out", `${s.frames_in} / ${s.frames_out}`],
    ["bytes in / out", `${s.bytes_in} / ${s.bytes_out}`],
    ["heartbeat round trip", s.rtt === null ? "-" : (s.rtt * 1000).toFixed(1) + " ms"],
    ["connects / disconnects", `${s.connects} / ${s.disconnects}`],
    ["failed attempts in a row", s.attempt], ["last disconnect", s.last_disconnect || "-"],
  ];
  const actions = el("p", { class: "actions" },
    actionButton("close", p.pid, p.name, "close connection"),
    actionButton("reconnect", p.pid, p.name, "reconnect"));
  return [el("h2", {}, "Websocket client"), table(rows, "client"), sparkline(rates), actions];
}

function state_now() { return state.taken_at; }

function table(rows, kind) {
  return el("table", { class: kind }, ...rows.map(([k, v]) =>
    el("tr", { "data-field": k }, el("th", {}, k), el("td", { class: "mono" }, v))));
}

function sparkline(rates) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 120 40");
  svg.setAttribute("preserveAspectRatio", "none");
  const max = Math.max(1, ...rates);
  const step = 120 / Math.max(rates.length - 1, 1);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", rates.map((r, i) => `${(i * step).toFixed(1)},${(38 - (r / max) * 36).toFixed(1)}`).join(" "));
  svg.append(line);
  const title = document.createElementNS(ns, "title");
  title.textContent = `messages per second, last ${rates.length} samples (max ${max.toFixed(1)})`;
  svg.append(title);
  return svg;
}

function renderEvents() {
  const needle = document.getElementById("filter").value.trim().toLowerCase();
  const shown = events.filter((e) => !needle || e.event.toLowerCase().includes(needle)
    || e.who.some((w) => w.toLowerCase().includes(needle)));
  document.getElementById("events").replaceChildren(...shown.slice(-100).reverse().map((e) => {
    const detail = Object.entries(e.fields).filter(([k]) => k !== "level" && k !== "timestamp")
      .map(([k, v]) => `${k}=${v}`).join(" ");
    return el("li", { class: "lvl-" + e.level, "data-event": e.event },
      el("span", { class: "dim" }, clock(e.ts)), el("span", {}, e.level),
      el("span", { class: "mono" }, e.event), el("span", { class: "mono" }, detail));
  }));
}

document.getElementById("filter").addEventListener("input", renderEvents);
connect();
