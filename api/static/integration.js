// One integration's page: Sync now / Test connection / Reconnect through the JSON API; live
// events re-fetch the status panel (with the progress bar), the sync history, the logs, the
// records shown (the same entity and page) and the webhook deliveries; the records browser
// pages in place; Replay goes through the JSON API.
"use strict";

(() => {
  const head = document.getElementById("integration");
  if (!head) return;
  const id = head.dataset.integration;
  const base = "/integrations/" + encodeURIComponent(id);
  const apiBase = "/api/integrations/" + encodeURIComponent(id);
  const result = document.getElementById("action-result");
  const SYNC_POLL_MS = 1000; // while a sync runs, the panel is also re-read (unchanged records send no event)

  function say(text, kind) {
    result.textContent = text;
    result.className = "result " + (kind || "");
  }

  async function refreshStatus() {
    const before = document.getElementById("status");
    const lastRun = before ? before.dataset.lastRun : "";
    const wasSyncing = before ? before.dataset.syncing === "true" : false;
    const fresh = await Hub.refresh(before, base + "/status");
    if (!fresh) return;
    const syncing = fresh.dataset.syncing === "true";
    if (fresh.dataset.lastRun !== lastRun || (wasSyncing && !syncing)) {
      Hub.soon("history", refreshHistory, 50);
      Hub.soon("logs", refreshLogs, 50);
      Hub.soon("records", () => refreshRecords(recordsQuery()), 50);
    }
    if (syncing) Hub.soon("status", refreshStatus, SYNC_POLL_MS);
  }

  function refreshHistory() {
    return Hub.refresh(document.getElementById("history"), base + "/history");
  }

  function refreshLogs(query) {
    return Hub.refresh(document.getElementById("logs"), base + "/logs" + (query ? "?" + query : ""));
  }

  // The page of records shown now: its entity and where it starts.
  function recordsQuery() {
    const records = document.getElementById("records");
    const entity = records ? records.dataset.entity : "";
    if (!entity) return "";
    const query = new URLSearchParams({ entity });
    if (records.dataset.after) query.set("after", records.dataset.after);
    return query.toString();
  }

  function refreshRecords(query) {
    return Hub.refresh(document.getElementById("records"), base + "/records" + (query ? "?" + query : ""));
  }

  Hub.listen((event) => {
    if (event.integration !== id) return;
    const delay = event.name === "record_changed" ? 500 : 100;
    Hub.soon("status", refreshStatus, delay);
    if (event.name === "sync_completed" || event.name === "sync_failed") {
      Hub.soon("history", refreshHistory, 100);
      Hub.soon("logs", refreshLogs, 100);
    }
    if (event.name === "record_changed" || event.name === "sync_completed") {
      Hub.soon("records", () => refreshRecords(recordsQuery()), event.name === "record_changed" ? 1000 : 100);
    }
    if (event.name === "webhook_received") {
      Hub.soon("webhooks", refreshWebhooks, 300);
      Hub.soon("records", () => refreshRecords(recordsQuery()), 300);
    }
  }, id, () => Hub.soon("status", refreshStatus, 0));

  async function act(button) {
    const action = button.dataset.action;
    button.disabled = true;
    try {
      if (action === "sync") {
        say("Starting a sync…", "busy");
        const answer = await Hub.api("POST", apiBase + "/sync");
        if (answer.status === 409) say("A sync is already running.", "");
        else if (answer.ok) say("Sync started.", "ok");
        else say("Could not start a sync: " + Hub.problemText(answer), "err");
        Hub.soon("status", refreshStatus, 50);
      } else if (action === "test") {
        say("Testing the connection…", "busy");
        const answer = await Hub.api("POST", apiBase + "/test");
        const data = answer.data || {};
        if (answer.ok && data.ok) {
          say("Connection OK (" + Math.round(data.latency_ms || 0) + " ms)" + (data.detail ? ": " + data.detail : ""), "ok");
        } else {
          say("Connection failed: " + (answer.ok ? data.detail || "no detail" : Hub.problemText(answer)), "err");
        }
      } else if (action === "reconnect") {
        say("Reconnecting…", "busy");
        const answer = await Hub.api("POST", apiBase + "/reconnect");
        say(answer.ok ? "Reconnecting: the integration starts over." : "Reconnect failed: " + Hub.problemText(answer), answer.ok ? "ok" : "err");
        Hub.soon("status", refreshStatus, 300);
      }
    } finally {
      button.disabled = false;
    }
  }

  head.addEventListener("click", (click) => {
    const button = click.target.closest("button[data-action]");
    if (button) act(button);
  });

  // Paging and the entity choice load their fragment in place (the links work without this).
  document.addEventListener("click", (click) => {
    const link = click.target.closest("a[data-fragment]");
    if (!link) return;
    click.preventDefault();
    if (link.dataset.fragment === "records") refreshRecords(link.dataset.query);
    else if (link.dataset.fragment === "logs") refreshLogs(link.dataset.query);
  });
  document.addEventListener("change", (change) => {
    if (change.target.id !== "records-entity") return;
    refreshRecords(new URLSearchParams({ entity: change.target.value }).toString());
  });

  // -- webhook deliveries: re-read while one is on its way; Replay through the JSON API -----------
  async function refreshWebhooks() {
    const fresh = await Hub.refresh(document.getElementById("webhooks"), base + "/webhooks");
    const recheck = fresh ? Number(fresh.dataset.recheck || 0) : 0;
    if (recheck > 0) Hub.soon("webhooks", refreshWebhooks, recheck);
  }

  document.addEventListener("click", async (click) => {
    const button = click.target.closest("#webhooks button[data-replay]");
    if (!button) return;
    button.disabled = true;
    const delivery = button.dataset.replay;
    const answer = await Hub.api("POST", apiBase + "/webhooks/" + encodeURIComponent(delivery) + "/replay");
    if (answer.ok) say("Delivery " + delivery + " queued again.", "ok");
    else say("Replay failed: " + Hub.problemText(answer), "err");
    await refreshWebhooks();
  });

  const webhooks = document.getElementById("webhooks");
  if (webhooks && Number(webhooks.dataset.recheck || 0) > 0) {
    Hub.soon("webhooks", refreshWebhooks, Number(webhooks.dataset.recheck));
  }

  const status = document.getElementById("status");
  if (status && status.dataset.syncing === "true") Hub.soon("status", refreshStatus, SYNC_POLL_MS);
})();
