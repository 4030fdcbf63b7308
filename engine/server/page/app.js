// Slate's operator page: the control plane (/v1/pipelines) and its event
// stream (/v1/events), with a live HLS preview through hls.js.
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = { token: sessionStorage.getItem("slate-token"), selected: null, pipelines: [], socket: null, hls: null, previewOf: null };

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error(body && body.error ? `${body.field ? body.field + ": " : ""}${body.error}` : response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("data-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
const seconds = (s) => (s == null ? "–" : `${s.toFixed(1)} s`);

// ---- sign in ----

async function signIn(token) {
  state.token = token;
  try {
    const me = await api("/v1/me");
    sessionStorage.setItem("slate-token", token);
    $("#who").textContent = `${me.account.name} (${me.account.role})`;
    $("#login-view").hidden = true;
    $("#main-view").hidden = false;
    $("#logout").hidden = false;
    connect();
    await refresh();
    loadSide();
    setInterval(refresh, 1000);
    setInterval(loadSide, 5000);
  } catch (error) {
    sessionStorage.removeItem("slate-token");
    $("#login-error").textContent = error.status === 401 ? "That token is not valid (revoked, expired or mistyped)." : error.message;
  }
}

$("#login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("#token").value.trim());
});
$("#logout").addEventListener("click", () => {
  sessionStorage.removeItem("slate-token");
  location.reload();
});

// ---- the event stream ----

function connect() {
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/events`);
  state.socket = socket;
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.op === "hello") {
      socket.send(JSON.stringify({ op: "identify", token: state.token, subscriptions: data.categories }));
    } else if (data.op === "identified") {
      setConnection(true);
    } else if (data.op === "event") {
      onEvent(data);
    } else if (data.op === "error") {
      console.warn("event stream:", data.field, data.error);
    }
  };
  socket.onclose = () => {
    setConnection(false);
    setTimeout(connect, 2000);
  };
}

function setConnection(on) {
  const pill = $("#connection");
  pill.textContent = on ? "live" : "offline";
  pill.className = `pill ${on ? "on" : "off"}`;
}

function onEvent(event) {
  if (event.category === "meters") return meter(event);
  if (event.category === "alerts") return alert(event);
  if (event.category === "pipelines" && event.type === "error") {
    return alert({ ...event, data: { alert: "error", active: true, message: event.data.message, element: event.data.element } });
  }
  if (event.category === "pipelines" && event.type === "branch-restarting") {
    const { element, branch, attempt, error } = event.data;
    return alert({ ...event, data: { alert: "branch-restart", active: true, element, message: `restarting ${branch} (attempt ${attempt}): ${error}` } });
  }
  if (event.category === "scripts") return scriptEvent(event);
  if (event.category === "pipelines" && event.type === "state") refresh();
  if (event.category === "provenance" && event.pipeline === state.selected) refresh();
}

function alert(event) {
  const { alert: kind, active, message, element } = event.data;
  const item = el(
    "li",
    { class: active ? "active" : "cleared", "data-alert": kind, "data-pipeline": event.pipeline, "data-element": element || "" },
    el("time", {}, clock(event.at_ms)),
    `${event.pipeline} · ${active ? "" : "cleared: "}${message}`,
  );
  $("#alerts").prepend(item);
  while ($("#alerts").children.length > 200) $("#alerts").lastChild.remove();
}

// ---- meters ----

function meter(event) {
  if (event.pipeline !== state.selected) return;
  const { element, "peak-db": peaks, "rms-db": rms, "momentary-lufs": lufs } = event.data;
  let box = document.querySelector(`.meter[data-element="${CSS.escape(element)}"]`);
  if (!box) {
    box = el("div", { class: "meter", "data-element": element }, el("div", { class: "bars" }), el("div", { class: "lufs" }), el("div", { class: "label" }, element));
    $("#meters").append(box);
  }
  const bars = box.querySelector(".bars");
  while (bars.children.length < rms.length) {
    bars.append(el("div", { class: "bar" }, el("div", { class: "rms" }), el("div", { class: "peak" })));
  }
  const height = (db) => `${Math.max(0, Math.min(100, ((db + 60) / 60) * 100))}%`;
  rms.forEach((value, channel) => {
    const bar = bars.children[channel];
    bar.querySelector(".rms").style.height = height(value);
    bar.querySelector(".peak").style.bottom = height(peaks[channel]);
    bar.title = `ch ${channel + 1}: peak ${peaks[channel]} dBFS, RMS ${value} dBFS`;
  });
  box.dataset.rms = rms.join(",");
  box.dataset.updates = String(Number(box.dataset.updates || 0) + 1);
  box.querySelector(".lufs").textContent = lufs == null ? "– LUFS" : `${lufs.toFixed(1)} LUFS`;
}

// ---- pipelines ----

async function refresh() {
  let list;
  try {
    list = await api("/v1/pipelines");
  } catch (error) {
    return;
  }
  state.pipelines = list.pipelines;
  const select = $("#shipped");
  if (select.options.length !== list.shipped.length) {
    select.replaceChildren(...list.shipped.map((name) => el("option", { value: name }, name)));
  }
  const body = $("#pipelines tbody");
  body.replaceChildren(
    ...list.pipelines.map((p) => {
      const faults = Object.values(p.faults).reduce((a, b) => a + b, 0);
      const row = el(
        "tr",
        { "data-id": p.id, "data-state": p.state, class: p.id === state.selected ? "selected" : "" },
        el("td", {}, p.id),
        el("td", {}, p.name),
        el("td", { class: `state-${p.state}` }, p.state),
        el("td", {}, seconds(p.position_s)),
        el("td", {}, p.fps.toFixed(1)),
        el("td", {}, String(p.dropped)),
        el("td", {}, String(faults)),
      );
      row.addEventListener("click", () => select_(p.id));
      return row;
    }),
  );
  if (!state.selected && list.pipelines.length) select_(list.pipelines[list.pipelines.length - 1].id);
  else if (state.selected) showDetail();
}

function select_(id) {
  if (state.selected !== id) {
    state.selected = id;
    $("#meters").replaceChildren();
    $("#script-log").replaceChildren();
    loadGraph();
    loadShippedScripts();
  }
  for (const row of document.querySelectorAll("#pipelines tbody tr")) row.classList.toggle("selected", row.dataset.id === id);
  showDetail();
}

function showDetail() {
  const p = state.pipelines.find((p) => p.id === state.selected);
  if (!p) return;
  $("#detail-title").textContent = `${p.id} · ${p.name}${p.description ? " — " + p.description : ""}`;
  const running = ["playing", "paused", "restarting"].includes(p.state);
  $("#start").disabled = !(p.state === "ready" || p.state === "paused");
  $("#pause").disabled = p.state !== "playing";
  $("#stop").disabled = !(running || p.state === "ready" || p.state === "stopping");
  const facts = {
    state: p.state,
    time: `${seconds(p.position_s)}${p.duration_s ? " / " + seconds(p.duration_s) : ""}`,
    fps: p.fps.toFixed(1),
    frames: p.frames,
    dropped: p.dropped,
    restarts: p.restart.attempts ? `${p.restarts} (${p.restart.scope}: ${p.restart.attempts} attempts${p.restart.scope === "branch" ? " each" : ""})` : `${p.restarts} (no restart policy)`,
  };
  $("#facts").replaceChildren(...Object.entries(facts).flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-fact": k }, String(v))]));
  $("#outputs tbody").replaceChildren(
    ...p.outputs.map((o) =>
      el(
        "tr",
        { "data-element": o.element },
        el("td", {}, o.element),
        el("td", {}, o.kind),
        el("td", { class: "path" }, o.location),
        el(
          "td",
          { class: o.signed || o.segments ? "ok" : "pending" },
          !o.signing ? "not signed" : o.kind === "hls" ? `${o.segments} segments signed` : o.signed ? "signed" : "signs when stopped",
        ),
      ),
    ),
  );
  showScripts(p);
  preview(p);
}

function preview(p) {
  const video = $("#preview");
  const hls = p.outputs.find((o) => o.kind === "hls");
  const ready = p.preview && hls && hls.segments >= 2 && ["playing", "paused"].includes(p.state);
  if (!ready) {
    if (state.previewOf !== p.id) $("#preview-note").textContent = p.preview ? "waiting for segments…" : "no HLS output to preview";
    return;
  }
  if (state.previewOf === p.id) return;
  if (state.hls) state.hls.destroy();
  state.previewOf = p.id;
  const player = new Hls({
    liveSyncDurationCount: 2,
    manifestLoadingMaxRetry: 10,
    xhrSetup: (xhr) => xhr.setRequestHeader("Authorization", `Bearer ${state.token}`),
  });
  player.loadSource(`/v1/pipelines/${p.id}/preview/${p.preview}`);
  player.attachMedia(video);
  player.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
  player.on(Hls.Events.ERROR, (_, data) => {
    if (data.fatal) $("#preview-note").textContent = `preview: ${data.details}`;
  });
  state.hls = player;
  $("#preview-note").textContent = "live";
}

async function loadGraph() {
  const box = $("#graph");
  if (!state.selected) return box.replaceChildren();
  try {
    box.replaceChildren(drawGraph(await api(`/v1/pipelines/${state.selected}/graph`)));
  } catch (error) {
    box.textContent = error.message;
  }
}

// Layers by longest path from the sources, one column each.
function drawGraph(graph) {
  const NS = "http://www.w3.org/2000/svg";
  const incoming = new Map(graph.nodes.map((n) => [n.name, []]));
  for (const link of graph.links) incoming.get(link.to)?.push(link.from);
  const depth = new Map();
  const depthOf = (name, seen = new Set()) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0;
    seen.add(name);
    const d = Math.max(-1, ...(incoming.get(name) || []).map((from) => depthOf(from, seen))) + 1;
    depth.set(name, d);
    return d;
  };
  graph.nodes.forEach((n) => depthOf(n.name));
  const columns = [];
  for (const n of graph.nodes) (columns[depth.get(n.name)] ||= []).push(n);
  const [W, H, GX, GY] = [118, 34, 34, 12];
  const at = new Map();
  columns.forEach((column, x) => column.forEach((n, y) => at.set(n.name, { x: 8 + x * (W + GX), y: 8 + y * (H + GY) })));
  const svg = document.createElementNS(NS, "svg");
  const rows = Math.max(...columns.map((c) => c.length));
  svg.setAttribute("viewBox", `0 0 ${16 + columns.length * (W + GX)} ${16 + rows * (H + GY)}`);
  const make = (tag, attributes, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
    if (text) node.textContent = text;
    svg.append(node);
    return node;
  };
  for (const link of graph.links) {
    const [a, b] = [at.get(link.from), at.get(link.to)];
    if (!a || !b) continue;
    const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2];
    make("path", { d: `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}` }).append(
      Object.assign(document.createElementNS(NS, "title"), { textContent: link.media || "not negotiated" }),
    );
  }
  for (const n of graph.nodes) {
    const { x, y } = at.get(n.name);
    const kind = incoming.get(n.name).length === 0 ? "source" : graph.links.some((l) => l.from === n.name) ? "" : "sink";
    make("rect", { x, y, width: W, height: H, class: kind, "data-node": n.name });
    make("text", { x: x + 6, y: y + 14 }, n.name.length > 18 ? n.name.slice(0, 17) + "…" : n.name);
    make("text", { x: x + 6, y: y + 27, class: "factory" }, n.factory);
  }
  return svg;
}

async function command(action) {
  if (!state.selected) return;
  try {
    await api(`/v1/pipelines/${state.selected}/${action}`, { method: "POST" });
  } catch (error) {
    $("#create-error").textContent = error.message;
  }
  refresh();
}
for (const action of ["start", "pause", "stop"]) $(`#${action}`).addEventListener("click", () => command(action));

$("#create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#create-error").textContent = "";
  const body = { name: $("#shipped").value, start: true, set: $("#overrides").value.split(/\s+/).filter(Boolean) };
  if ($("#duration").value.trim()) body.duration = $("#duration").value.trim();
  try {
    const status = await api("/v1/pipelines", { method: "POST", body });
    state.selected = null;
    await refresh();
    select_(status.id);
  } catch (error) {
    $("#create-error").textContent = error.message;
  }
});

// ---- automation scripts ----

function showScripts(p) {
  $("#scripts tbody").replaceChildren(
    ...p.scripts.map((script) => {
      const detach = el("button", { class: "danger" }, "Detach");
      detach.addEventListener("click", () => scriptCommand(`/v1/pipelines/${p.id}/scripts/${script.id}`, { method: "DELETE" }));
      const settings = Object.entries(script.settings).map(([k, v]) => `${k}=${v}`).join(" ");
      return el("tr", { "data-script": script.id }, el("td", {}, script.id), el("td", {}, script.name), el("td", { class: "path" }, settings), el("td", {}, detach));
    }),
  );
}

async function loadShippedScripts() {
  if (!state.selected || $("#shipped-scripts").options.length) return;
  try {
    const { shipped } = await api(`/v1/pipelines/${state.selected}/scripts`);
    $("#shipped-scripts").replaceChildren(...shipped.map((name) => el("option", { value: name }, name)));
  } catch (error) {
    $("#attach-error").textContent = error.message;
  }
}

async function scriptCommand(path, options) {
  $("#attach-error").textContent = "";
  try {
    await api(path, options);
  } catch (error) {
    $("#attach-error").textContent = error.message;
  }
  refresh();
}

$("#attach-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!state.selected) return;
  const settings = Object.fromEntries(
    $("#script-settings").value.split(/\s+/).filter(Boolean).map((pair) => {
      const at = pair.indexOf("=");
      return at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  scriptCommand(`/v1/pipelines/${state.selected}/scripts`, { method: "POST", body: { name: $("#shipped-scripts").value, settings } });
});

function scriptEvent(event) {
  if (event.pipeline !== state.selected) return;
  const { script, level, message, reason, name } = event.data;
  const text = event.type === "log" ? `${script} ${level}: ${message}` : event.type === "attached" ? `${script} attached (${name})` : `${script} detached: ${reason}`;
  $("#script-log").prepend(el("li", { class: level === "error" ? "active" : "" }, el("time", {}, clock(event.at_ms)), text));
  while ($("#script-log").children.length > 100) $("#script-log").lastChild.remove();
  if (event.type !== "log") refresh();
}

// ---- consent audit and feed (when the token may read them) ----

async function loadSide() {
  try {
    const entries = await api("/v1/consent/audit?last=20");
    $("#consent").replaceChildren(
      ...entries.reverse().map((e) =>
        el("li", {}, el("time", {}, clock(e.at * 1000)), `${e.allowed ? "allowed" : "refused"} ${e.identity || "unknown face"} in ${e.media}: ${e.reason}`),
      ),
    );
    if (!entries.length) $("#consent").replaceChildren(el("li", {}, "no checks yet"));
  } catch (error) {
    $("#consent").replaceChildren(el("li", {}, error.message));
  }
  try {
    const slate = await api("/v1/feed?n=5");
    $("#feed").replaceChildren(...slate.items.map((i) => el("li", {}, `${i.item} — ${i.why}`)));
    if (!slate.items.length) $("#feed").replaceChildren(el("li", {}, "no items published yet"));
  } catch (error) {
    $("#feed").replaceChildren(el("li", {}, error.message));
  }
}

if (state.token) signIn(state.token);
