// Integration Hub: what every dashboard page shares. Plain JavaScript, no build step.
//
// - Hub.api(): calls the JSON API with the session cookie and the CSRF token from the page's
//   <meta name="csrf-token">.
// - Hub.refresh(): re-fetches a server-rendered fragment and puts it in place of an element.
// - Hub.listen(): live events from GET /api/events (Server-Sent Events), one callback per event.
// - Hub.soon(): runs a function once after a short delay however often it is asked for, so a
//   burst of events costs one fetch.
"use strict";

const Hub = (() => {
  const EVENT_NAMES = [
    "connected", "disconnected", "sync_started", "sync_completed", "sync_failed", "error",
    "rate_limited", "health_changed", "webhook_received", "restarted", "parked",
    "config_changed", "record_changed",
  ];
  const TYPE_PREFIX = "hub.integration.";
  const SOURCE_PREFIX = "/integrations/";
  const pending = new Map();

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function signedOut(response) {
    // The auth middleware sends a page request without a session to /login.
    return response.redirected && new URL(response.url).pathname === "/login";
  }

  async function api(method, path, body) {
    const headers = { "X-CSRF-Token": csrfToken(), Accept: "application/json" };
    const options = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      return { status: 0, ok: false, data: { detail: "the hub did not answer (" + error.message + ")" } };
    }
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("json")) {
      try { data = await response.json(); } catch (error) { data = null; }
    }
    return { status: response.status, ok: response.ok, data: data || {} };
  }

  function problemText(result) {
    const data = result.data || {};
    return data.detail || data.title || (result.status ? "HTTP " + result.status : "no answer");
  }

  function fromHtml(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  // Replace `element` (or the element with its id) by the fragment at `url`; returns the new
  // element, or null when the fragment is gone (404: the caller removes what it showed).
  async function refresh(element, url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (signedOut(response)) {
      window.location.reload();
      return null;
    }
    if (response.status === 404) return null;
    if (!response.ok) return element;
    const fresh = fromHtml(await response.text());
    if (!fresh) return element;
    if (element && element.isConnected) element.replaceWith(fresh);
    localTimes(fresh);
    return fresh;
  }

  function soon(key, fn, delay) {
    if (pending.has(key)) return;
    pending.set(key, window.setTimeout(() => {
      pending.delete(key);
      Promise.resolve(fn()).catch((error) => console.warn("refresh failed", key, error));
    }, delay));
  }

  function parse(message, fallbackName) {
    let event = {};
    try { event = JSON.parse(message.data); } catch (error) { return null; }
    const type = typeof event.type === "string" ? event.type : "";
    const source = typeof event.source === "string" ? event.source : "";
    return {
      id: message.lastEventId || event.id,
      name: type.startsWith(TYPE_PREFIX) ? type.slice(TYPE_PREFIX.length) : fallbackName,
      integration: source.startsWith(SOURCE_PREFIX) ? source.slice(SOURCE_PREFIX.length) : "",
      data: event.data || {},
    };
  }

  // `integration`: only that integration's events (the API filters them). `onOpen` runs each
  // time the stream (re)connects: what happened before it did is not sent, so re-read it.
  function listen(onEvent, integration, onOpen) {
    if (!("EventSource" in window)) return null;
    const live = document.getElementById("live");
    const query = integration ? "?" + new URLSearchParams({ integration }) : "";
    const source = new EventSource("/api/events" + query);
    if (live) live.hidden = false;
    const handle = (name) => (message) => {
      const event = parse(message, name);
      if (event) onEvent(event);
    };
    EVENT_NAMES.forEach((name) => source.addEventListener(name, handle(name)));
    source.onmessage = handle("message");
    source.onopen = () => {
      if (live) { live.classList.add("on"); live.title = "Live updates: connected"; }
      if (onOpen) onOpen();
    };
    source.onerror = () => { if (live) { live.classList.remove("on"); live.title = "Live updates: reconnecting"; } };
    window.addEventListener("pagehide", () => source.close());
    return source;
  }

  // Times are rendered in UTC on the server; show them in the browser's time zone.
  function localTimes(root) {
    (root || document).querySelectorAll("time[data-local]").forEach((node) => {
      const when = new Date(node.getAttribute("datetime"));
      if (Number.isNaN(when.getTime())) return;
      node.textContent = node.dataset.local === "time"
        ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
        : when.toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
    });
  }

  document.addEventListener("DOMContentLoaded", () => localTimes(document));

  return { api, problemText, refresh, soon, listen, localTimes, fromHtml };
})();
