// The overview: on each live event, re-fetch the card of the integration it concerns, the
// counts and the activity list (each server-rendered); Reconnect through the JSON API.
"use strict";

(() => {
  const cards = document.getElementById("cards");
  if (!cards) return;
  const SYNC_POLL_MS = 1500; // while a card shows a sync, also ask now and then (no event for unchanged records)

  function cardOf(id) {
    return document.getElementById("card-" + id);
  }

  async function refreshCard(id) {
    const current = cardOf(id);
    const fresh = await Hub.refresh(current, "/integrations/" + encodeURIComponent(id) + "/card");
    if (fresh === null) {
      if (current) current.remove();
      return;
    }
    if (!current) {
      const none = document.getElementById("no-cards");
      if (none) none.remove();
      cards.appendChild(fresh);
    }
    if (fresh.dataset.syncing === "true") {
      Hub.soon("card:" + id, () => refreshCard(id), SYNC_POLL_MS);
    }
  }

  function refreshCounts() {
    return Hub.refresh(document.getElementById("counts"), "/fragments/counts");
  }

  function refreshActivity() {
    return Hub.refresh(document.getElementById("activity"), "/fragments/activity");
  }

  Hub.listen((event) => {
    if (!event.integration) return;
    if (event.name === "record_changed") {
      Hub.soon("card:" + event.integration, () => refreshCard(event.integration), 1000);
      return;
    }
    Hub.soon("card:" + event.integration, () => refreshCard(event.integration), 150);
    Hub.soon("counts", refreshCounts, 300);
    Hub.soon("activity", refreshActivity, 300);
  });

  cards.addEventListener("click", async (click) => {
    const button = click.target.closest('button[data-action="reconnect"]');
    if (!button) return;
    const id = button.dataset.integration;
    button.disabled = true;
    button.textContent = "Reconnecting…";
    const result = await Hub.api("POST", "/api/integrations/" + encodeURIComponent(id) + "/reconnect");
    if (!result.ok) {
      button.disabled = false;
      button.textContent = "Reconnect";
      const card = cardOf(id);
      const problem = card && card.querySelector(".problem");
      if (problem) problem.textContent = "Reconnect failed: " + Hub.problemText(result);
      return;
    }
    Hub.soon("card:" + id, () => refreshCard(id), 300);
  });

  cards.querySelectorAll('.card[data-syncing="true"]').forEach((card) => {
    const id = card.dataset.integration;
    Hub.soon("card:" + id, () => refreshCard(id), SYNC_POLL_MS);
  });
})();
