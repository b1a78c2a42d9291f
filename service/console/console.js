// The operator console: polls the API (signed in by the session cookie) and draws what it answers.
// No build step, no library: fetch, a few DOM helpers and an inline SVG plot.
"use strict";

const POLL_MS = 1000;
const HEADERS = { "x-console": "1" }; // asked of every change made on the strength of the cookie
const SOURCE = "source";

const $ = (id) => document.getElementById(id);
let selected = decodeURIComponent(location.hash.slice(1)) || null;
let shownFrames = null; // frames_seen of the frame on screen: a new frame is fetched only when there is one
let current = null; // the selected site's summary

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

async function api(path, options = {}) {
  const r = await fetch(path, { credentials: "same-origin", ...options, headers: { ...HEADERS, ...(options.headers || {}) } });
  if (r.status === 401) {
    location.reload(); // signed out (or the key changed): back to the sign-in form
    throw new Error("signed out");
  }
  const body = (r.headers.get("content-type") || "").includes("json") ? await r.json() : null;
  if (!r.ok) {
    const detail = body && body.detail;
    throw new Error(typeof detail === "string" ? detail : detail ? JSON.stringify(detail) : r.statusText);
  }
  return body;
}

const site = (path = "") => `v1/sites/${encodeURIComponent(selected)}${path}`;
const fmt = (x, digits = 3) => (x === null || x === undefined ? "—" : Number(x).toFixed(digits));
const time = (t) => new Date(t * 1000).toLocaleTimeString();
const short = (id) => (id === SOURCE ? SOURCE : id.slice(-13));

function say(text, error = false) {
  $("message").textContent = text;
  $("message").className = error ? "message error" : "message";
}

// -- sites --------------------------------------------------------------------------------------
function renderSites(sites) {
  const list = $("sites");
  if (!sites.length) return;
  if (!selected || !sites.some((s) => s.id === selected)) select(sites[0].id);
  list.replaceChildren(
    ...sites.map((s) =>
      el(
        "li",
        {},
        el(
          "button",
          { class: s.id === selected ? "selected" : "", "data-site": s.id, onclick: () => select(s.id) },
          el("strong", {}, s.id),
          el("small", {}, `serving ${short(s.serving_version || s.active_version)}`),
          el("small", {}, `${s.persons_per_s.toFixed(1)} persons/s · ${s.latency_p50_ms === null ? "—" : s.latency_p50_ms.toFixed(0) + " ms"}`),
        ),
      ),
    ),
  );
  current = sites.find((s) => s.id === selected) || null;
  if (current) renderLive(current);
}

function select(id) {
  if (id === selected && current) return;
  selected = id;
  shownFrames = null;
  history.replaceState(null, "", `#${encodeURIComponent(id)}`);
  $("site").hidden = false;
  $("site-title").textContent = id;
  $("jobs").replaceChildren();
  $("versions").replaceChildren();
  say("");
  poll();
}

function renderLive(s) {
  $("site").hidden = false;
  $("site-title").textContent = s.id;
  const idle = s.last_frame_age_s === null ? "no frames" : s.last_frame_age_s > 5 ? `idle for ${s.last_frame_age_s.toFixed(0)} s` : "live";
  $("live-state").textContent = s.warming_up && s.frames_seen ? "learning the background" : idle;
  $("persons").textContent = s.persons_per_s.toFixed(1);
  $("fps").textContent = s.frames_per_s.toFixed(1);
  $("latency").textContent = s.latency_p50_ms === null ? "—" : `${s.latency_p50_ms.toFixed(0)} ms`;
  $("serving").textContent = s.serving_version || s.active_version;
  $("frames-seen").textContent = s.frames_seen;
  $("buffered").textContent = s.buffered_crops;
  $("ghosts").textContent = s.ghosts ? `${s.ghosts} (relearn the background while nobody is in view)` : "none";
  $("tilt").textContent = s.camera_tilt_deg === null || s.camera_tilt_deg === undefined ? "unknown" : `${s.camera_tilt_deg}°`;
  $("detail").textContent = s.detail_factor === null || s.detail_factor === undefined ? "unknown" : s.detail_factor === 1 ? "as sharp as its pixels" : `blown up ${s.detail_factor}×`;
  if (s.frames_seen !== shownFrames && s.frames_seen > 0) refreshFrame(s.frames_seen);
}

async function refreshFrame(frames) {
  shownFrames = frames;
  const r = await fetch(site("/frame.jpg"), { credentials: "same-origin" });
  if (!r.ok) {
    $("frame").hidden = true;
    $("no-frame").hidden = false;
    return;
  }
  const url = URL.createObjectURL(await r.blob());
  const old = $("frame").src;
  $("frame").src = url;
  $("frame").hidden = false;
  $("no-frame").hidden = true;
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
}

// -- jobs ---------------------------------------------------------------------------------------
function health(h) {
  return h ? `IoU ${fmt(h.iou)} · L_T ${fmt(h.topology, 2)}` : "—";
}

function outcome(j) {
  if (j.error) return el("span", { class: "muted", title: j.error }, j.error.slice(0, 60));
  const r = j.result;
  if (!r) return "";
  if (r.version) return `${short(r.version)}${r.activated ? " · activated" : " · kept, not activated"}`;
  return r.reason || "no new version";
}

function renderJobs(jobs) {
  $("jobs").replaceChildren(
    ...jobs.map((j) => {
      const p = j.progress || {};
      const total = p.iterations || j.config.iterations || 0;
      const done = p.iteration || 0;
      const share = total ? Math.min(100, (100 * done) / total) : 0;
      const losses = Object.entries(p.losses || {}).map(([k, v]) => `${k} ${Number(v).toPrecision(3)}`).join(" · ");
      const r = j.result || {};
      const live = j.state === "queued" || j.state === "running";
      return el(
        "tr",
        { "data-job": j.id, "data-state": j.state },
        el("td", { title: j.id }, time(j.created)),
        el("td", {}, el("span", { class: `state ${j.state}` }, j.state)),
        el("td", { class: "progress" }, el("span", { class: "bar" }, el("span", { style: `width:${share}%` })),
          el("span", { class: "iteration" }, total ? `${done} / ${total}` : `${done}`)),
        el("td", { class: "losses" }, losses || "—"),
        el("td", {}, live && p.remaining_s !== undefined ? `${p.remaining_s.toFixed(0)} s` : "—"),
        el("td", { class: "health" }, r.health_before ? `${health(r.health_before)} → ${health(r.health_after)}` : "—"),
        el("td", {}, outcome(j)),
        el("td", {}, live ? el("button", { class: "cancel", onclick: () => cancel(j.id) }, "Cancel") : ""),
      );
    }),
  );
  if (!jobs.length) $("jobs").append(el("tr", {}, el("td", { colSpan: 8, class: "muted" }, "no adaptation yet")));
}

async function startAdaptation(event) {
  event.preventDefault();
  const body = {};
  for (const [k, v] of new FormData($("adapt-form"))) {
    if (v === "") continue;
    body[k] = ["iterations", "batch", "lr"].includes(k) ? Number(v) : v;
  }
  try {
    const job = await api(site("/adapt"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    say(job.created && Date.now() / 1000 - job.created > 2 ? "an adaptation is already running for this site" : "adaptation started");
  } catch (e) {
    say(e.message, true);
  }
  poll();
}

// -- the camera -----------------------------------------------------------------------------------
async function setCamera(event) {
  event.preventDefault();
  const value = new FormData($("camera-form")).get("tilt_deg");
  try {
    const s = await api(site("/camera"), {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tilt_deg: value === "" ? null : Number(value) }),
    });
    say(s.camera_tilt_deg === null ? "camera tilt unknown: bodies stand upright in the camera" : `bodies now stand upright for a camera ${s.camera_tilt_deg}° down`);
  } catch (e) {
    say(e.message, true);
  }
  poll();
}

// -- the background --------------------------------------------------------------------------------
async function relearnBackground(event) {
  event.preventDefault();
  if (!current) return;
  try {
    const s = await api(site("/background"), {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method: current.background_method }),
    });
    say(s.warming_up ? "learning the background afresh from the next frames: keep the view empty meanwhile" : "the background was not relearnt", !s.warming_up);
  } catch (e) {
    say(e.message, true);
  }
  poll();
}

async function cancel(id) {
  try {
    await api(`v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });
    say("cancellation asked");
  } catch (e) {
    say(e.message, true);
  }
  poll();
}

// -- versions -----------------------------------------------------------------------------------
function renderVersions(versions, jobs) {
  const serving = current ? current.serving_version || current.active_version : null;
  const active = versions.find((v) => v.active);
  $("versions").replaceChildren(
    ...versions.map((v, i) => {
      const older = active && v.created < active.created;
      return el(
        "tr",
        { "data-version": v.id },
        el("td", {}, i === 0 ? "" : String(i)),
        el("td", { title: v.id }, short(v.id)),
        el("td", {}, v.id === SOURCE ? "—" : time(v.created)),
        el("td", {}, v.parent ? short(v.parent) : "—"),
        el("td", {}, v.health ? fmt(v.health.iou) : healthOf(v, jobs) !== null
          ? el("span", { class: "muted", title: "on the held-out frames of the first job that adapted it" }, `${fmt(healthOf(v, jobs))}*`)
          : "—"),
        el("td", {}, v.health ? fmt(v.health.topology, 2) : "—"),
        el("td", {}, v.id === serving ? el("span", { class: "badge" }, "serving") : "",
          v.active && v.id !== serving ? el("span", { class: "badge active" }, "active") : ""),
        el("td", {}, v.active ? "" : el("button", { class: "activate", onclick: () => activate(v.id) }, older ? "Roll back" : "Activate")),
      );
    }),
  );
  plotHealth(versions, jobs, serving);
}

async function activate(id) {
  try {
    await api(site(`/versions/${encodeURIComponent(id)}/activate`), { method: "POST" });
    say(`${short(id)} is now active`);
  } catch (e) {
    say(e.message, true);
  }
  poll();
}

// The source model earns no score of its own: it is shown with the score it had on the held-out
// frames of the first job that adapted it (that job's "health before").
function healthOf(v, jobs) {
  if (v.health) return v.health.iou;
  const first = jobs.filter((j) => j.result && j.result.parent === v.id && j.result.health_before).pop();
  return first ? first.result.health_before.iou : null;
}

function plotHealth(versions, jobs, serving) {
  const svg = $("health-plot");
  const W = svg.width.baseVal.value, H = svg.height.baseVal.value, L = 40, R = 10, T = 10, B = 24;
  const points = versions.map((v, i) => ({ i, v, y: healthOf(v, jobs) })).filter((p) => p.y !== null);
  const ns = "http://www.w3.org/2000/svg";
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  };
  svg.replaceChildren();
  if (!points.length) {
    svg.append(node("text", { x: L, y: H / 2 }, "no scores yet: adapt the site"));
    return;
  }
  let lo = Math.min(...points.map((p) => p.y)), hi = Math.max(...points.map((p) => p.y));
  if (hi - lo < 0.02) { lo -= 0.01; hi += 0.01; }
  const x = (i) => L + (versions.length > 1 ? (i * (W - L - R)) / (versions.length - 1) : (W - L - R) / 2);
  const y = (v) => T + ((hi - v) * (H - T - B)) / (hi - lo);
  svg.append(node("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#d1d5db" }));
  svg.append(node("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#d1d5db" }));
  svg.append(node("text", { x: 2, y: T + 8 }, hi.toFixed(3)), node("text", { x: 2, y: H - B }, lo.toFixed(3)));
  svg.append(node("polyline", { points: points.map((p) => `${x(p.i)},${y(p.y)}`).join(" ") }));
  for (const p of points) {
    const c = node("circle", { cx: x(p.i), cy: y(p.y), r: 4, class: p.v.id === serving ? "serving" : "" });
    c.append(node("title", {}, `${p.v.id}: IoU ${p.y.toFixed(3)}`));
    svg.append(c);
  }
  versions.forEach((v, i) => svg.append(node("text", { x: x(i) - 4, y: H - 8 }, i === 0 ? "src" : String(i))));
}

// -- polling ------------------------------------------------------------------------------------
let polling = false;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    renderSites(await api("v1/sites"));
    if (selected && current) {
      const [jobs, versions] = await Promise.all([api(site("/jobs")), api(site("/versions"))]);
      renderJobs(jobs);
      renderVersions(versions, jobs);
    }
    $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    $("status").textContent = `not updated: ${e.message}`;
  } finally {
    polling = false;
  }
}

$("adapt-form").addEventListener("submit", startAdaptation);
$("camera-form").addEventListener("submit", setCamera);
$("background-form").addEventListener("submit", relearnBackground);
poll();
setInterval(poll, POLL_MS);
