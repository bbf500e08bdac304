// The operator's console: a map of the city and panels over the management API. Every value
// from the API is inserted as text (never as HTML), and the token stays in this tab's
// sessionStorage and in Authorization headers, never in a URL.
(function () {
  "use strict";
  const I18N = window.CITYLINK_I18N;
  let lang = localStorage.getItem("citylink.lang") || (navigator.language.startsWith("ko") ? "ko" : "en");
  let token = sessionStorage.getItem("citylink.token") || "";
  let map = null, cameraLayer = null, incidentLayer = null, fitted = false;
  let grants = [];
  let streamAbort = null;
  const pending = new Set();
  let refreshTimer = null;

  const $ = (id) => document.getElementById(id);
  const t = (key, vars) => {
    let s = (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
    return s;
  };
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c === null || c === undefined ? "" : c);
    return e;
  }
  function status(message) { $("status").textContent = message || ""; }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers.Authorization = "Bearer " + token;
    const res = await fetch(path, opts);
    const text = await res.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = text; }
    if (res.status === 401) { signOut(); throw new Error(t("sign_in_first")); }
    if (!res.ok) throw new Error((body && body.error) || res.statusText);
    return body;
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((e) => { e.placeholder = t(e.dataset.i18nPlaceholder); });
    $("lang").textContent = lang === "ko" ? "English" : "한국어";
  }

  // ---- the map: cameras with their view cones, incidents; tiles only when configured
  function initMap(settings) {
    if (map) return;
    map = L.map("map", { zoomControl: true, attributionControl: !!settings.tile_url }).setView([37.5665, 126.978], 13);
    if (settings.tile_url) L.tileLayer(settings.tile_url, { maxZoom: 19, attribution: settings.tile_attribution || "" }).addTo(map);
    cameraLayer = L.layerGroup().addTo(map);
    incidentLayer = L.layerGroup().addTo(map);
  }
  function conePoints(lat, lon, heading, fov, range) {
    const pts = [[lat, lon]];
    const steps = 12;
    for (let i = 0; i <= steps; i++) {
      const b = ((heading - fov / 2 + (fov * i) / steps) * Math.PI) / 180;
      pts.push([lat + (range * Math.cos(b)) / 111320, lon + (range * Math.sin(b)) / (111320 * Math.cos((lat * Math.PI) / 180))]);
    }
    return pts;
  }
  async function loadCameras() {
    const fc = await api("/api/cameras?limit=20000");
    cameraLayer.clearLayers();
    const bounds = [];
    for (const f of fc.features) {
      const [lon, lat] = f.geometry.coordinates;
      const p = f.properties;
      const color = p.live ? "#1f77b4" : "#999999";
      if (p.fov_deg > 0 && p.fov_deg < 360 && p.range_m > 0)
        L.polygon(conePoints(lat, lon, p.heading_deg, p.fov_deg, p.range_m),
          { color, weight: 1, fillOpacity: 0.12, className: "camera-cone", interactive: false }).addTo(cameraLayer);
      L.circleMarker([lat, lon], { radius: 5, color, fillOpacity: 0.9, className: "camera-marker" })
        .bindTooltip(p.camera_id + " · " + p.state + (p.owner ? " · " + p.owner : ""))
        .addTo(cameraLayer);
      bounds.push([lat, lon]);
    }
    if (!fitted && bounds.length) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 17 }); fitted = true; }
  }

  // ---- panels
  async function loadIncidents() {
    const list = await api("/api/incidents");
    incidentLayer.clearLayers();
    const rows = list.map((i) => {
      if (i.location && i.open)
        L.circleMarker([i.location.lat, i.location.lon], { radius: 9, color: "#d62728", fillOpacity: 0.7, className: "incident-marker" })
          .bindTooltip(i.event_code + " " + i.occurrence_number).addTo(incidentLayer);
      return el("tr", { "data-incident": i.occurrence_number, class: i.open ? "open" : "closed" },
        el("td", {}, i.occurrence_number), el("td", {}, i.event_code + (i.event_name ? " " + i.event_name : "")),
        el("td", {}, (i.open ? t("open") : t("closed")) + " · " + i.status.replace("EVENT_STATUS_", "")),
        el("td", { class: "num" }, String(i.live_grants.length)));
    });
    $("incidents").replaceChildren(...rows);
  }
  function countdown(ms) {
    if (ms <= 0) return t("expired_grant");
    const s = Math.floor(ms / 1000);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function tickGrants() {
    document.querySelectorAll("#grants tr[data-grant-id]").forEach((row) => {
      row.querySelector(".countdown").textContent = countdown(Number(row.dataset.expires) - Date.now());
    });
  }
  async function revoke(grantId, input) {
    const reason = input.value.trim();
    if (!reason) { status(t("need_reason")); input.focus(); return; }
    try {
      await api("/api/grants/" + encodeURIComponent(grantId) + "/revoke", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason }),
      });
      status("");
      await refresh(["grants", "incidents", "audit"]);
    } catch (e) { status(e.message); }
  }
  async function loadGrants() {
    grants = await api("/api/grants");
    const rows = grants.map((g) => {
      const input = el("input", { class: "reason", placeholder: t("reason"), "aria-label": t("reason") });
      return el("tr", { "data-grant-id": g.grant_id, "data-expires": String(g.expires_unix_ms) },
        el("td", {}, g.incident_id), el("td", {}, g.recipient), el("td", {}, g.camera_ids.join(", ")),
        el("td", { class: "countdown num" }, countdown(g.expires_unix_ms - Date.now())),
        el("td", {}, input, el("button", { class: "revoke", type: "button", onclick: () => revoke(g.grant_id, input) }, t("revoke"))));
    });
    $("grants").replaceChildren(...rows);
  }
  async function control(instance, what) {
    try {
      await api("/api/instances/" + encodeURIComponent(instance) + "/" + what, { method: "POST" });
      status("");
    } catch (e) { status(instance + ": " + e.message); }
    await refresh(["plugins", "audit"]);
  }
  async function loadPlugins() {
    const list = await api("/api/instances");
    const rows = list.map((i) => {
      const c = i.counters;
      const buttons = i.state === "running"
        ? [el("button", { class: "restart", type: "button", onclick: () => control(i.instance_id, "restart") }, t("restart")),
           el("button", { class: "disable", type: "button", onclick: () => control(i.instance_id, "disable") }, t("disable"))]
        : [el("button", { class: "enable", type: "button", onclick: () => control(i.instance_id, "enable") }, t("enable"))];
      const name = i.descriptor ? i.descriptor.name + " (" + i.descriptor.vendor + " " + i.descriptor.version + ")" : i.plugin_id;
      return el("tr", { "data-instance": i.instance_id },
        el("td", { title: name }, i.instance_id),
        el("td", { class: "state state-" + i.state, title: i.last_error || i.where }, i.state),
        el("td", { class: "num" }, c.delivered + " / " + c.published + " / " + (c.dropped_incoming + c.dropped_outgoing)),
        el("td", {}, ...buttons));
    });
    $("plugins").replaceChildren(...rows);
  }
  async function loadAudit() {
    try {
      const v = await api("/api/audit/verify");
      $("audit-verify").textContent = v.ok ? t("verified", { n: v.records_checked }) : t("tampered", { p: v.problem });
      const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString().slice(0, 19) + "Z";
      const records = (await api("/api/audit?from=" + since)).slice(-50).reverse();
      $("audit").replaceChildren(...records.map((r) => el("tr", {},
        el("td", {}, r.time.replace("T", " ").slice(0, 19)), el("td", {}, r.action), el("td", {}, r.actor),
        el("td", {}, r.detail))));
    } catch (e) { $("audit-verify").textContent = e.message; }
  }
  async function loadTransparency(month) {
    const r = await api("/api/transparency?month=" + encodeURIComponent(month));
    const head = (...keys) => el("tr", {}, ...keys.map((k) => el("th", {}, t(k))));
    const parts = [el("h3", {}, t("transparency") + " " + r.month)];
    if (!r.video_grants.length && !r.personal_data_deliveries.length) parts.push(el("p", {}, t("no_data")));
    if (r.video_grants.length)
      parts.push(el("table", { id: "transparency-grants" }, head("purpose", "legal_basis", "recipient", "issued", "revoked", "expired", "median_s"),
        ...r.video_grants.map((g) => el("tr", {}, el("td", {}, g.purpose), el("td", {}, g.legal_basis), el("td", {}, g.recipient),
          el("td", { class: "num" }, String(g.grants_issued)), el("td", { class: "num" }, String(g.revoked)),
          el("td", { class: "num" }, String(g.expired)),
          el("td", { class: "num" }, g.duration_seconds ? String(Math.round(g.duration_seconds.median)) : "–")))));
    if (r.personal_data_deliveries.length)
      parts.push(el("h4", {}, t("personal_data")), el("table", {}, head("purpose", "legal_basis", "recipient", "deliveries"),
        ...r.personal_data_deliveries.map((d) => el("tr", {}, el("td", {}, d.purpose), el("td", {}, d.legal_basis),
          el("td", {}, d.recipient), el("td", { class: "num" }, String(d.deliveries))))));
    $("transparency").replaceChildren(...parts);
  }

  const loaders = { cameras: loadCameras, incidents: loadIncidents, grants: loadGrants, plugins: loadPlugins, audit: loadAudit };
  async function refresh(which) {
    for (const w of which) {
      try { await loaders[w](); } catch (e) { status(e.message); }
    }
  }
  // Live events say what changed; the panels reload from the API (one source of truth).
  function schedule(...which) {
    which.forEach((w) => pending.add(w));
    if (refreshTimer) return;
    refreshTimer = setTimeout(async () => {
      const list = [...pending];
      pending.clear();
      refreshTimer = null;
      await refresh(list);
    }, 150);
  }
  async function stream() {
    if (streamAbort) streamAbort.abort();
    const abort = new AbortController();
    streamAbort = abort;
    try {
      const res = await fetch("/api/events", { headers: { Authorization: "Bearer " + token }, signal: abort.signal });
      if (!res.ok) throw new Error(res.statusText);
      // What changed before the stream was open is not in it: reload once it is.
      schedule("cameras", "incidents", "grants", "plugins", "audit");
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      status("");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const type = (block.match(/^event: (.*)$/m) || [])[1];
          if (type === "incident") schedule("incidents", "cameras");
          else if (type === "grant") schedule("grants", "incidents", "audit");
          else if (type === "dispatch") schedule("incidents");
          else if (type === "instance") schedule("plugins");
          else if (type === "overflow") schedule("incidents", "grants", "plugins", "audit");
        }
      }
    } catch (e) {
      if (abort.signal.aborted) return;
    }
    if (!token || abort.signal.aborted) return;
    status(t("stream_lost"));
    setTimeout(stream, 2000);
  }

  async function start() {
    applyLanguage();
    if (!token) { status(t("sign_in_first")); return; }
    try {
      const who = await api("/api/whoami");
      const settings = await api("/api/console/settings");
      $("who").textContent = t("signed_in_as", who);
      $("city").textContent = settings.city;
      $("login").hidden = true;
      $("sign-out").hidden = false;
      initMap(settings);
      stream();  // loads every list once it is open
      await refresh(["cameras", "incidents", "grants", "plugins", "audit"]);
    } catch (e) { status(e.message); }
  }
  function signOut() {
    token = "";
    sessionStorage.removeItem("citylink.token");
    if (streamAbort) streamAbort.abort();
    $("login").hidden = false;
    $("sign-out").hidden = true;
    $("who").textContent = "";
  }

  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("token").value.trim();
    $("token").value = "";
    sessionStorage.setItem("citylink.token", token);
    start();
  });
  $("sign-out").addEventListener("click", () => { signOut(); status(t("sign_in_first")); });
  $("lang").addEventListener("click", () => {
    lang = lang === "ko" ? "en" : "ko";
    localStorage.setItem("citylink.lang", lang);
    applyLanguage();
    if (token) refresh(["incidents", "grants", "plugins", "audit"]);
    if (token && $("transparency").childElementCount) loadTransparency($("month").value).catch((err) => status(err.message));
  });
  $("transparency-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadTransparency($("month").value).catch((err) => status(err.message));
  });
  $("print").addEventListener("click", () => window.print());
  $("month").value = new Date().toISOString().slice(0, 7);
  setInterval(tickGrants, 1000);
  start();
})();
