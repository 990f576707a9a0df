/* inspect-cv operator page: plain JavaScript, no build step, no dependencies.
 *
 * Talks to the service it is served by: /v1/detect, /v1/scan-container, /v1/view (windowed
 * PNG of the raw scan), /v1/decisions, /v1/horses/... . The API key (if the service uses
 * keys) is kept in sessionStorage and sent as X-API-Key. Every service error
 * ({"error": "..."}) is shown in the red bar at the top.
 */
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORE = "inspect-cv.api-key";
const COLOURS = ["#ff3b30", "#ffcc00", "#34c759", "#0a84ff", "#ff9f0a", "#bf5af2", "#64d2ff", "#ff375f"];

// ------------------------------------------------------------------ errors, HTTP
function showError(msg) {
  $("error-text").textContent = String(msg);
  $("error-bar").hidden = false;
}
function clearError() { $("error-bar").hidden = true; $("error-text").textContent = ""; }
$("error-close").addEventListener("click", clearError);
window.addEventListener("error", (e) => showError("page error: " + (e.message || e)));
window.addEventListener("unhandledrejection", (e) => showError(e.reason && e.reason.message || String(e.reason)));

function apiKey() { return sessionStorage.getItem(KEY_STORE) || ""; }

class ServiceError extends Error {}

/** fetch() with the key; resolves to the Response, throws ServiceError with the one-line error. */
async function call(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  let r;
  try {
    r = await fetch(path, Object.assign({}, opts, { headers }));
  } catch (e) {
    throw new ServiceError(`cannot reach the service (${e.message})`);
  }
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText}`;
    try {
      const body = await r.json();
      if (body && body.error) msg = `${r.status}: ${body.error}`;
    } catch (_) { /* not JSON */ }
    if (r.status === 401) msg += " - enter your API key at the top right";
    throw new ServiceError(msg);
  }
  return r;
}
async function callJSON(path, opts) { return (await call(path, opts)).json(); }

/** Run an async action, showing its error in the bar (never a blank page). */
async function guarded(fn, busyEl) {
  if (busyEl) busyEl.hidden = false;
  try {
    clearError();
    return await fn();
  } catch (e) {
    showError(e instanceof ServiceError ? e.message : `error: ${e.message || e}`);
    return undefined;
  } finally {
    if (busyEl) busyEl.hidden = true;
  }
}

function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}
function fmt(v) {
  const a = Math.abs(v);
  if (a >= 100 || Number.isInteger(v)) return Math.round(v).toString();
  if (a >= 10) return v.toFixed(1);
  return v.toPrecision(3);
}
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

// ------------------------------------------------------------------ key, tabs, health
$("api-key").value = apiKey();
$("key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const v = $("api-key").value.trim();
  if (v) sessionStorage.setItem(KEY_STORE, v); else sessionStorage.removeItem(KEY_STORE);
  clearError();
  refreshHealth();
  loadHorseIds();
});

let activeTab = "baggage";
function selectTab(name) {
  activeTab = name;
  for (const b of document.querySelectorAll(".tabs button")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const s of document.querySelectorAll("section.tab")) s.hidden = s.dataset.tab !== name;
  if (name === "baggage") bag.viewer.resize();
  if (name === "container") con.viewer.resize();
  if (name === "horse") loadHorseIds();
  history.replaceState(null, "", "#" + name);
}
for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => selectTab(b.dataset.tab));

async function refreshHealth() {
  const h = $("health");
  try {
    const r = await fetch("/healthz");
    const j = await r.json();
    h.textContent = `service ${j.version}: ${j.models.join(", ") || "no model"}; auth ${j.auth}`;
    h.className = "health";
  } catch (e) {
    h.textContent = "service unreachable";
    h.className = "health bad";
  }
}

// ------------------------------------------------------------------ the scan viewer
/** A canvas that shows a view PNG with zoom (wheel), pan (drag) and boxes in original
 *  image coordinates (times the view's scale). data-boxes = boxes drawn. */
class Viewer {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.bitmap = null;
    this.viewScale = 1;      // view px per original px
    this.boxes = [];         // [{box:[x1,y1,x2,y2], label, score, colour}]
    this.k = 1; this.ox = 0; this.oy = 0;   // screen = o + k * view px
    this.fitted = false;
    new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    canvas.addEventListener("pointerdown", (e) => this.onDown(e));
    canvas.addEventListener("pointermove", (e) => this.onMove(e));
    canvas.addEventListener("pointerup", (e) => this.onUp(e));
    canvas.addEventListener("pointercancel", (e) => this.onUp(e));
    canvas.addEventListener("dblclick", () => this.reset());
  }
  resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (w === this.canvas.width && h === this.canvas.height) return;
    this.canvas.width = w; this.canvas.height = h;
    if (!this.fitted) this.reset(); else this.draw();
  }
  /** Show a new bitmap; keepView keeps zoom and pan (same scan, new window). */
  setImage(bitmap, viewScale, keepView) {
    const old = this.bitmap;
    this.bitmap = bitmap;
    this.viewScale = viewScale;
    this.canvas.dataset.loaded = "1";
    if (keepView && old && old.width === bitmap.width && old.height === bitmap.height) this.draw();
    else this.reset();
    if (old && old !== bitmap && old.close) old.close();
  }
  setBoxes(boxes) { this.boxes = boxes || []; this.draw(); }
  clear() {
    this.bitmap = null; this.boxes = []; this.canvas.dataset.loaded = "0"; this.fitted = false; this.draw();
  }
  fitK() {
    const c = this.canvas, pad = 8;
    return Math.min((c.width - 2 * pad) / this.bitmap.width, (c.height - 2 * pad) / this.bitmap.height);
  }
  reset() {
    const c = this.canvas;
    if (!this.bitmap) { this.draw(); return; }
    this.k = this.fitK();
    this.ox = (c.width - this.k * this.bitmap.width) / 2;
    this.oy = (c.height - this.k * this.bitmap.height) / 2;
    this.fitted = c.clientWidth > 0;
    this.draw();
  }
  zoomAt(factor, sx, sy) {
    const k = Math.min(64, Math.max(0.05, this.k * factor));
    const f = k / this.k;
    this.ox = sx - (sx - this.ox) * f;
    this.oy = sy - (sy - this.oy) * f;
    this.k = k;
    this.draw();
  }
  onWheel(e) {
    if (!this.bitmap) return;
    e.preventDefault();
    const dpr = window.devicePixelRatio || 1;
    const r = this.canvas.getBoundingClientRect();
    this.zoomAt(Math.exp(-e.deltaY * 0.0015), (e.clientX - r.left) * dpr, (e.clientY - r.top) * dpr);
  }
  onDown(e) {
    if (!this.bitmap || e.button !== 0) return;
    this.drag = { x: e.clientX, y: e.clientY, ox: this.ox, oy: this.oy };
    this.canvas.setPointerCapture(e.pointerId);
    this.canvas.classList.add("dragging");
  }
  onMove(e) {
    if (!this.drag) return;
    const dpr = window.devicePixelRatio || 1;
    this.ox = this.drag.ox + (e.clientX - this.drag.x) * dpr;
    this.oy = this.drag.oy + (e.clientY - this.drag.y) * dpr;
    this.draw();
  }
  onUp(e) {
    this.drag = null;
    this.canvas.classList.remove("dragging");
  }
  draw() {
    const c = this.canvas, ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#050607";
    ctx.fillRect(0, 0, c.width, c.height);
    let drawn = 0;
    if (this.bitmap) {
      ctx.imageSmoothingEnabled = this.k < 2;
      ctx.setTransform(this.k, 0, 0, this.k, this.ox, this.oy);
      ctx.drawImage(this.bitmap, 0, 0);
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      const dpr = window.devicePixelRatio || 1;
      const s = this.k * this.viewScale;
      ctx.font = `bold ${Math.round(13 * dpr)}px system-ui, sans-serif`;
      ctx.textBaseline = "bottom";
      // detections of one box under several labels (a model unsure of the class) share one frame
      const groups = new Map();
      for (const b of this.boxes) {
        const key = b.box.map((v) => v.toFixed(1)).join(",");
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(b);
      }
      const th = 18 * dpr;
      for (const group of groups.values()) {
        const [x1, y1, x2, y2] = group[0].box;
        const X = this.ox + s * x1, Y = this.oy + s * y1, W = s * (x2 - x1), H = s * (y2 - y1);
        ctx.lineWidth = 4 * dpr; ctx.strokeStyle = "#000";
        ctx.strokeRect(X, Y, W, H);
        ctx.lineWidth = 2 * dpr; ctx.strokeStyle = group[0].colour;
        ctx.strokeRect(X, Y, W, H);
        const above = Y - th * group.length >= 0;
        group.forEach((b, i) => {
          const text = b.score != null ? `${b.label} ${b.score.toFixed(2)}` : b.label;
          const tw = ctx.measureText(text).width + 8 * dpr;
          const ty = above ? Y - th * (group.length - 1 - i) : Y + H + th * (i + 1);
          ctx.fillStyle = "rgba(0,0,0,0.8)";
          ctx.fillRect(X, ty - th, tw, th);
          ctx.fillStyle = b.colour;
          ctx.fillText(text, X + 4 * dpr, ty - 2 * dpr);
          drawn++;
        });
      }
    }
    c.dataset.zoom = (this.bitmap ? this.k / this.fitK() : 1).toFixed(3);
    c.dataset.boxes = String(drawn);
  }
}

/** Window sliders + grey/colour toggle over /v1/view for one scan (a File or two). */
class Display {
  constructor(prefix, viewer, kind) {
    this.p = prefix; this.viewer = viewer; this.kind = kind;
    this.files = null; this.mode = "auto"; this.source = null; this.seq = 0;
    this.level = null; this.width = null; this.defaults = null;
    this.slLevel = $(prefix + "-level"); this.slWidth = $(prefix + "-width");
    const later = debounce(() => guarded(() => this.request(true)), 150);
    for (const s of [this.slLevel, this.slWidth]) {
      s.addEventListener("input", () => {
        this.level = Number(this.slLevel.value); this.width = Number(this.slWidth.value);
        this.showNumbers(); later();
      });
    }
    $(prefix + "-reset-window").addEventListener("click", () => guarded(() => this.resetWindow()));
    $(prefix + "-mode").addEventListener("click", () => guarded(() => this.toggleMode()));
    $(prefix + "-reset-zoom").addEventListener("click", () => this.viewer.reset());
  }
  async load(files) {
    this.files = files; this.level = this.width = null; this.mode = "auto"; this.defaults = null;
    return this.request(false);
  }
  showNumbers() {
    $(this.p + "-level-out").textContent = this.level == null ? "–" : fmt(this.level);
    $(this.p + "-width-out").textContent = this.width == null ? "–" : fmt(this.width);
  }
  resetWindow() {
    if (!this.defaults) return;
    this.level = this.defaults.level; this.width = this.defaults.width;
    return this.request(true);
  }
  toggleMode() {
    if (!this.files) return;
    if (this.source === "grey") { showError("this scan is single-channel grey: there is no colour to show"); return; }
    this.mode = this.mode === "grey" ? "colour" : "grey";
    return this.request(true);
  }
  async request(keepView) {
    if (!this.files) return;
    const seq = ++this.seq;
    const fd = new FormData();
    fd.append("file", this.files[0]);
    if (this.files[1]) fd.append("low", this.files[1]);
    if (this.level != null) fd.append("level", String(this.level));
    if (this.width != null) fd.append("width", String(this.width));
    fd.append("mode", this.mode);
    fd.append("kind", this.kind);
    fd.append("max_side", String(Math.min(8192, Math.max(1024, Math.round(2 * Math.max(screen.width, screen.height))))));
    const r = await call("/v1/view", { method: "POST", body: fd });
    const blob = await r.blob();
    if (seq !== this.seq) return;   // a newer request is on its way
    const bmp = await createImageBitmap(blob);
    const h = (n) => Number(r.headers.get(n));
    this.source = r.headers.get("X-View-Source");
    this.mode = r.headers.get("X-View-Mode");
    this.level = h("X-Window-Level"); this.width = h("X-Window-Width");
    this.defaults = { level: h("X-Window-Default-Level"), width: h("X-Window-Default-Width") };
    const vmin = h("X-Value-Min"), vmax = h("X-Value-Max");
    const span = Math.max(vmax - vmin, this.defaults.width, 1e-6);
    const step = Number.isInteger(vmin) && Number.isInteger(vmax) && span > 50 ? 1 : span / 1000;
    this.slLevel.min = String(vmin - span / 2); this.slLevel.max = String(vmax + span / 2); this.slLevel.step = String(step);
    this.slWidth.min = String(step); this.slWidth.max = String(2 * span); this.slWidth.step = String(step);
    this.slLevel.value = String(this.level); this.slWidth.value = String(this.width);
    this.showNumbers();
    $(this.p + "-window").disabled = false;
    $(this.p + "-mode").textContent = `${this.mode === "grey" ? "Grey" : "Colour"} → ${this.mode === "grey" ? "colour" : "grey"} (G)`;
    $(this.p + "-mode").dataset.mode = this.mode;
    $(this.p + "-view-info").textContent =
      `${h("X-Image-Width")} × ${h("X-Image-Height")} px, ${this.source}; values ${fmt(vmin)}…${fmt(vmax)}; ` +
      `shown at ${(100 * h("X-View-Scale")).toFixed(0)} %`;
    this.viewer.canvas.dataset.mode = this.mode;
    this.viewer.canvas.dataset.level = String(this.level);
    this.viewer.canvas.dataset.width = String(this.width);
    this.viewer.setImage(bmp, h("X-View-Scale"), keepView);
  }
}

function setBanner(id, state, text, detail) {
  const b = $(id);
  b.className = "banner " + state;
  b.dataset.state = state;
  b.textContent = text;
  if (detail) b.append(el("span", { class: "detail", text: detail }));
}

function boxesOf(dets) {
  return (dets || []).map((d, i) => ({ box: d.box, label: d.label, score: d.score, colour: COLOURS[i % COLOURS.length] }));
}

function listDetections(olId, boxes) {
  const ol = $(olId);
  ol.replaceChildren();
  if (!boxes.length) { ol.append(el("li", { class: "muted", text: "nothing detected" })); return; }
  for (const b of boxes) {
    const sw = el("span", { class: "sw" }); sw.style.background = b.colour;
    ol.append(el("li", {}, sw, `${b.label} ${b.score.toFixed(2)}  [${b.box.map((v) => Math.round(v)).join(", ")}]`));
  }
}

async function recordDecision(prefix, kind, item, requestId, decision) {
  const body = { item, decision, kind, note: $(prefix + "-note").value.trim() || null, request_id: requestId || null };
  const row = await callJSON("/v1/decisions", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const box = $(prefix + "-recorded");
  box.hidden = false;
  box.dataset.decision = row.decision;
  box.replaceChildren(
    "Recorded: ", el("b", { class: row.decision, text: row.decision.toUpperCase() }),
    ` ${row.item} by ${row.key_name} at ${row.time || ""}` + (row.id != null ? ` (#${row.id})` : ""),
    row.note ? el("div", { class: "small", text: "note: " + row.note }) : "");
  return row;
}

// ------------------------------------------------------------------ baggage tab
const bag = { viewer: new Viewer($("bag-canvas")), files: null, record: null, requestId: null };
bag.display = new Display("bag", bag.viewer, "baggage");

async function openBag(files) {
  files = Array.from(files || []).filter(Boolean);
  if (!files.length) return;
  if (files.length > 2) { showError("drop one scan, or a high- and a low-energy image"); return; }
  // two files: the one named *low* is the low-energy image
  if (files.length === 2 && /low/i.test(files[0].name) && !/low/i.test(files[1].name)) files.reverse();
  bag.files = files; bag.record = null;
  $("bag-name").textContent = files.map((f) => f.name).join(" + ");
  $("bag-hint").hidden = true;
  $("bag-recorded").hidden = true;
  $("bag-decision").disabled = true;
  $("bag-note").value = "";
  setBanner("bag-banner", "idle", "Inspecting…");
  bag.viewer.setBoxes([]);
  await guarded(async () => {
    const fd = new FormData();
    fd.append("file", files[0]);
    if (files[1]) fd.append("low", files[1]);
    const [det] = await Promise.all([call("/v1/detect", { method: "POST", body: fd }), bag.display.load(files)]);
    bag.requestId = det.headers.get("X-Request-ID");
    const rec = await det.json();
    bag.record = rec;
    const boxes = boxesOf(rec.detections.slice().sort((a, b) => b.score - a.score));
    bag.viewer.setBoxes(boxes);
    listDetections("bag-dets", boxes);
    if (rec.alarm) {
      setBanner("bag-banner", "alarm", "ALARM: " + boxes.map((b) => `${b.label} ${b.score.toFixed(2)}`).join(", "),
        `${rec.image}: ${boxes.length} object(s); ${rec.ms.toFixed(0)} ms`);
    } else {
      setBanner("bag-banner", "ok", "No threat found", `${rec.image}; ${rec.ms.toFixed(0)} ms`);
    }
    $("bag-decision").disabled = false;
  }, $("bag-busy"));
  if (!bag.record) {  // never an old scan under a new file's name
    setBanner("bag-banner", "idle", "No result (see the error above)");
    bag.viewer.clear(); bag.display.files = null; bag.files = null;
    $("bag-window").disabled = true; $("bag-hint").hidden = false;
  }
}

async function decideBag(decision) {
  if (!bag.record) { showError("load a scan first"); return; }
  await guarded(() => recordDecision("bag", "baggage", bag.record.image || "scan", bag.requestId, decision));
}
$("bag-clear").addEventListener("click", () => decideBag("clear"));
$("bag-hold").addEventListener("click", () => decideBag("hold"));
for (const id of ["bag-file", "bag-file2"]) $(id).addEventListener("change", (e) => { openBag(e.target.files); e.target.value = ""; });
$("bag-low").addEventListener("change", (e) => {
  if (!bag.files) { showError("open the high-energy scan first"); return; }
  openBag([bag.files[0], e.target.files[0]]); e.target.value = "";
});

function dropTarget(zone, onFiles) {
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragover"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragover"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault(); zone.classList.remove("dragover");
    onFiles(e.dataTransfer.files);
  });
}
dropTarget($("bag-viewer"), openBag);

// ------------------------------------------------------------------ container tab
const con = { viewer: new Viewer($("con-canvas")), record: null, requestId: null };
con.display = new Display("con", con.viewer, "container");

function verdictBlock(state, title, lines) {
  const d = el("div", { class: "verdict " + state }, el("b", { text: title }));
  if (lines && lines.length) d.append(el("ul", {}, ...lines.map((t) => el("li", { text: t }))));
  return d;
}

async function showManifest() {
  const f = $("con-manifest").files[0];
  const pre = $("con-manifest-view");
  if (!f) { pre.textContent = "none given"; return; }
  const text = await f.text();
  try { pre.textContent = JSON.stringify(JSON.parse(text), null, 2); }
  catch (e) { pre.textContent = text.slice(0, 4000); }
}
$("con-manifest").addEventListener("change", showManifest);

async function inspectContainer() {
  const file = $("con-file").files[0];
  if (!file) { showError("pick a container scan first"); return; }
  const low = $("con-low").files[0], man = $("con-manifest").files[0];
  con.record = null;
  $("con-hint").hidden = true;
  $("con-recorded").hidden = true;
  $("con-decision").disabled = true;
  $("con-verdicts").replaceChildren();
  setBanner("con-banner", "idle", "Inspecting…");
  con.viewer.setBoxes([]);
  await showManifest();
  await guarded(async () => {
    const fd = new FormData();
    fd.append("file", file);
    if (low) fd.append("low", low);
    if (man) fd.append("manifest", man);
    const pm = $("con-pixel").value;
    if (pm) fd.append("pixel_mm", pm);
    const files = low ? [file, low] : [file];
    const [res] = await Promise.all([call("/v1/scan-container", { method: "POST", body: fd }), con.display.load(files)]);
    con.requestId = res.headers.get("X-Request-ID");
    const rec = await res.json();
    con.record = rec;
    const boxes = boxesOf(rec.detections || []);
    const body = rec.container && rec.container.box;
    const drawn = body ? [{ box: body, label: "container", score: null, colour: "#00a0ff" }, ...boxes] : boxes;
    con.viewer.setBoxes(drawn);
    const e = rec.empty, d = rec.declaration;
    const blocks = [];
    blocks.push(e.verdict ? verdictBlock("ok", `EMPTY (cargo evidence ${e.score.toFixed(2)})`)
      : verdictBlock("warn", `LOADED ~${Math.round(rec.mass_kg).toLocaleString()} ± ${Math.round(rec.mass_sigma_kg).toLocaleString()} kg`,
        [`cargo evidence ${e.score.toFixed(2)}, ${e.evidence_cm2} cm²`, `metal fraction ${rec.metal_fraction}`]));
    if (rec.detections === null) blocks.push(verdictBlock("", "No detector run (physics only)"));
    else blocks.push(rec.alarm ? verdictBlock("bad", "ALARM: " + boxes.map((b) => `${b.label} ${b.score.toFixed(2)}`).join(", "))
      : verdictBlock("ok", `Detector ${rec.detector}: nothing found`));
    if (d) {
      const head = `declared ${d.declared}` + (d.declared_mass_kg != null ? `, ${Math.round(d.declared_mass_kg).toLocaleString()} kg` : "");
      blocks.push(d.consistent ? verdictBlock("ok", `DECLARATION CONSISTENT (${head})`)
        : verdictBlock("bad", `DECLARATION INCONSISTENT (${head})`, d.reasons.map((r) => r.message)));
    } else {
      blocks.push(verdictBlock("", "No manifest: declaration not checked"));
    }
    $("con-verdicts").replaceChildren(...blocks);
    const bad = rec.alarm || (d && !d.consistent);
    const emptyText = e.verdict ? "EMPTY" : `LOADED ~${Math.round(rec.mass_kg).toLocaleString()} kg`;
    if (bad) {
      const why = [];
      if (rec.alarm) why.push("detector alarm");
      if (d && !d.consistent) why.push("declaration inconsistent");
      setBanner("con-banner", "alarm", `ALARM: ${why.join(", ")}`, `${emptyText}; ${rec.image}, ${rec.width} × ${rec.height} px`);
    } else if (d) {
      setBanner("con-banner", "ok", `${emptyText}, as declared`, `${rec.image}, ${rec.width} × ${rec.height} px`);
    } else {
      setBanner("con-banner", e.verdict ? "ok" : "warn", emptyText, `no manifest; ${rec.image}, ${rec.width} × ${rec.height} px`);
    }
    $("con-decision").disabled = false;
  }, $("con-busy"));
  if (!con.record) {
    setBanner("con-banner", "idle", "No result (see the error above)");
    con.viewer.clear(); con.display.files = null;
    $("con-window").disabled = true; $("con-hint").hidden = false;
  }
}
$("con-form").addEventListener("submit", (ev) => { ev.preventDefault(); inspectContainer(); });
dropTarget($("con-viewer"), (files) => {
  const dt = new DataTransfer();
  dt.items.add(files[0]);
  $("con-file").files = dt.files;
  inspectContainer();
});
async function decideCon(decision) {
  if (!con.record) { showError("inspect a container scan first"); return; }
  await guarded(() => recordDecision("con", "container", con.record.image || "container", con.requestId, decision));
}
$("con-clear").addEventListener("click", () => decideCon("clear"));
$("con-hold").addEventListener("click", () => decideCon("hold"));

// ------------------------------------------------------------------ horse tab
const photoUrls = new Map();   // horse id -> object URL of its enrolment thumbnail (or null)

async function enrolmentPhoto(id) {
  if (photoUrls.has(id)) return photoUrls.get(id);
  let url = null;
  try {
    const r = await call(`/v1/horses/${encodeURIComponent(id)}/photo`);
    url = URL.createObjectURL(await r.blob());
  } catch (e) { url = null; }   // 404: no thumbnail stored; shown as a blank
  photoUrls.set(id, url);
  return url;
}

async function loadHorseIds() {
  try {
    const j = await callJSON("/v1/horses");
    $("horse-ids").replaceChildren(...j.horses.map((h) => el("option", { value: h.id, label: h.name || h.id })));
  } catch (e) { /* the tab shows errors when used */ }
}

function showProbe(imgId, file) {
  const img = $(imgId);
  if (img.src && img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);   // browsers show JPEG / PNG; TIFF / DICOM stay blank
}

$("ver-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = $("ver-id").value.trim(), file = $("ver-photo").files[0];
  if (!id || !file) { showError("give the claimed horse id and a photo"); return; }
  showProbe("ver-probe", file);
  $("ver-enrolled").removeAttribute("src");
  setBanner("ver-banner", "idle", "Verifying…");
  const ok = await guarded(async () => {
    const fd = new FormData();
    fd.append("photo", file);
    const v = await callJSON(`/v1/horses/${encodeURIComponent(id)}/verify`, { method: "POST", body: fd });
    const cal = v.calibrated ? `calibrated for FAR ${v.far}` : "uncalibrated default threshold";
    setBanner("ver-banner", v.match ? "ok" : "alarm", v.match ? `MATCH: ${v.horse_id}` : `NO MATCH: not ${v.horse_id}`,
      `score ${v.score.toFixed(3)} vs threshold ${v.threshold.toFixed(3)} (${cal})` + (v.name ? `; ${v.name}` : ""));
    $("ver-banner").dataset.score = String(v.score);
    const url = await enrolmentPhoto(v.horse_id);
    if (url) $("ver-enrolled").src = url;
    $("ver-enrolled-cap").textContent = `enrolled: ${v.horse_id}` + (v.name ? ` (${v.name})` : "");
    return true;
  });
  if (!ok) setBanner("ver-banner", "idle", "No result (see the error above)");
});

$("idf-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const file = $("idf-photo").files[0];
  if (!file) { showError("give a photo"); return; }
  showProbe("idf-probe", file);
  const ol = $("idf-candidates");
  ol.replaceChildren(); ol.dataset.count = "0";
  setBanner("idf-banner", "idle", "Identifying…");
  const ok = await guarded(async () => {
    const fd = new FormData();
    fd.append("photo", file);
    fd.append("top", String($("idf-top").value || 5));
    const j = await callJSON("/v1/horses/identify", { method: "POST", body: fd });
    if (j.unknown || !j.best) {
      setBanner("idf-banner", "warn", "UNKNOWN: no enrolled horse reaches the threshold",
        `threshold ${j.threshold.toFixed(3)}; best candidates below`);
    } else {
      const top = j.candidates[0];
      setBanner("idf-banner", "ok", `BEST: ${j.best}` + (top.name ? ` (${top.name})` : ""),
        `score ${top.score.toFixed(3)} vs threshold ${j.threshold.toFixed(3)}`);
    }
    const items = await Promise.all(j.candidates.map(async (c, i) => {
      const img = el("img", { alt: c.horse_id });
      const url = await enrolmentPhoto(c.horse_id);
      if (url) img.src = url;
      return el("li", { class: c.score >= j.threshold ? "above" : "", "data-id": c.horse_id }, img,
        el("div", {}, el("div", { class: "cid", text: `${i + 1}. ${c.horse_id}` + (c.name ? ` – ${c.name}` : "") }),
          el("div", { class: "score", text: `score ${c.score.toFixed(3)} ${c.score >= j.threshold ? "≥" : "<"} ${j.threshold.toFixed(3)}` })));
    }));
    ol.replaceChildren(...items);
    ol.dataset.count = String(items.length);
    return true;
  });
  if (!ok) setBanner("idf-banner", "idle", "No result (see the error above)");
});

// ------------------------------------------------------------------ keyboard
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t && (t.tagName === "INPUT" && t.type !== "range" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
  const tab = activeTab === "baggage" ? bag : activeTab === "container" ? con : null;
  if (!tab) return;
  const key = e.key.toLowerCase();
  if (key === "c") { e.preventDefault(); (tab === bag ? decideBag : decideCon)("clear"); }
  else if (key === "h") { e.preventDefault(); (tab === bag ? decideBag : decideCon)("hold"); }
  else if (key === "0") { e.preventDefault(); tab.viewer.reset(); }
  else if (key === "g") { e.preventDefault(); guarded(() => tab.display.toggleMode()); }
  else if (key === "w") { e.preventDefault(); guarded(() => tab.display.resetWindow()); }
  else if (key === "+" || key === "=") { tab.viewer.zoomAt(1.25, tab.viewer.canvas.width / 2, tab.viewer.canvas.height / 2); }
  else if (key === "-") { tab.viewer.zoomAt(0.8, tab.viewer.canvas.width / 2, tab.viewer.canvas.height / 2); }
});

// ------------------------------------------------------------------ start
refreshHealth();
selectTab(["baggage", "container", "horse"].includes(location.hash.slice(1)) ? location.hash.slice(1) : "baggage");
