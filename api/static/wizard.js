// The setup wizard: one step at a time (type -> connection -> field mapping -> schedule), the
// connection tested and a sample read through the JSON API, saved with POST /api/integrations.
// A 422 names each bad field as a dotted path; the message goes next to that field.
// Inbound webhooks (scheme and signing secret) are a choice in step 4, or part of step 2 for a
// type that only receives webhooks; a secret can be generated here (crypto.getRandomValues).
"use strict";

(() => {
  const wizard = document.getElementById("wizard");
  if (!wizard) return;
  const form = document.getElementById("wizard-form");
  const steps = Array.from(form.querySelectorAll("section.step"));
  const transforms = (wizard.dataset.transforms || "none").split(",");
  const nameInput = document.getElementById("f-name");
  const idInput = document.getElementById("f-id");
  const cronInput = document.getElementById("f-cron");
  const scheduleOn = document.getElementById("f-schedule-enabled");
  const formError = document.getElementById("form-error");
  const testResult = document.getElementById("test-result");
  const mappingBox = document.getElementById("mapping");
  const webhookFields = document.getElementById("webhook-fields");
  const webhookOn = document.getElementById("f-webhook-enabled");
  const webhookOptions = document.getElementById("webhook-options");
  const webhookScheme = document.getElementById("f-webhook-scheme");
  const webhookSecret = document.getElementById("f-webhook-secret");
  const WEBHOOK_KIND = "Webhook";
  let current = 1;
  let adapter = "";
  let idEdited = false;
  let sampled = "";

  // -- steps ------------------------------------------------------------------------------------
  function show(step) {
    current = step;
    steps.forEach((section) => { section.hidden = Number(section.dataset.step) !== step; });
    wizard.querySelectorAll("[data-step-marker]").forEach((marker) => {
      const n = Number(marker.dataset.stepMarker);
      marker.className = n === step ? "current" : n < step ? "done" : "";
    });
    document.getElementById("step-label").textContent = "Step " + step + " of " + steps.length;
    const heading = steps[step - 1].querySelector("h2");
    if (heading) { heading.tabIndex = -1; heading.focus(); }
  }

  function adapterFields() {
    return form.querySelector('fieldset.adapter-fields[data-adapter="' + CSS.escape(adapter) + '"]');
  }

  function entityFields() {
    return form.querySelector('fieldset.entities[data-entities-of="' + CSS.escape(adapter) + '"]');
  }

  function choose(name) {
    adapter = name;
    form.querySelectorAll("fieldset[data-adapter], fieldset[data-entities-of]").forEach((set) => {
      const on = (set.dataset.adapter || set.dataset.entitiesOf) === name;
      set.hidden = !on;
      set.disabled = !on;
    });
    const fields = adapterFields();
    const title = fields ? fields.dataset.title : name;
    form.querySelector("[data-adapter-title]").textContent = title;
    if (!nameInput.value) {
      nameInput.value = title;
      if (!idEdited) idInput.value = slug(title);
    }
    testResult.textContent = "";
    sampled = "";
    placeWebhooks(fields ? fields.dataset.kind : "");
  }

  // -- webhooks ---------------------------------------------------------------------------------
  // A type that only receives webhooks asks for them with its connection (always on); any
  // other type offers them as a choice with the schedule.
  function placeWebhooks(kind) {
    const only = kind === WEBHOOK_KIND;
    const wasOnly = webhookFields.closest('[data-webhook-slot="2"]') !== null;
    form.querySelector('[data-webhook-slot="' + (only ? "2" : "4") + '"]').appendChild(webhookFields);
    document.getElementById("webhook-toggle").hidden = only;
    document.getElementById("webhook-always").hidden = !only;
    document.getElementById("schedule-fields").hidden = only;
    document.getElementById("schedule-none").hidden = !only;
    if (only !== wasOnly) {
      webhookOn.checked = only;
      scheduleOn.checked = !only;
    }
    showWebhookOptions();
  }

  function showWebhookOptions() {
    webhookOptions.hidden = !webhookOn.checked;
    webhookOptions.disabled = !webhookOn.checked;
  }

  function receivesOnly() {
    const fields = adapterFields();
    return fields !== null && fields.dataset.kind === WEBHOOK_KIND;
  }

  function webhooksWanted() {
    return webhookOn.checked && !webhookOptions.disabled;
  }

  function generateSecret() {
    const bytes = new Uint8Array(32);
    window.crypto.getRandomValues(bytes);
    webhookSecret.value = "whsec_" + btoa(String.fromCharCode(...bytes));
    clearErrors(webhookSecret.closest(".field"));
    webhookSecret.focus();
    webhookSecret.select();
  }

  // What the hub would refuse when a delivery arrives (a Standard Webhooks secret is
  // "whsec_" and base64), said now rather than then.
  function secretProblem() {
    if (webhookScheme.value !== "standard") return "";
    const encoded = webhookSecret.value.trim().replace(/^whsec_/, "");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
      return "a Standard Webhooks secret is whsec_ followed by base64: generate one, or paste the sender's";
    }
    return "";
  }

  webhookOn.addEventListener("change", showWebhookOptions);

  function slug(text) {
    let id = text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9_]+/g, "-").replace(/^[-_]+|-+$/g, "").slice(0, 63);
    if (!id) id = adapter || "integration";
    return id === "new" ? "new-1" : id;
  }

  nameInput.addEventListener("input", () => { if (!idEdited) idInput.value = slug(nameInput.value); });
  idInput.addEventListener("input", () => { idEdited = idInput.value !== ""; });

  // -- values -----------------------------------------------------------------------------------
  function valueOf(input) {
    const type = input.dataset.type;
    if (type === "boolean") return input.checked;
    const text = input.value.trim();
    if (text === "") return undefined;
    if (type === "integer") return Number.parseInt(text, 10);
    if (type === "number") return Number(text);
    if (type === "json") return JSON.parse(text);
    return input.value;
  }

  function connection() {
    const fields = adapterFields();
    const body = {
      id: idInput.value.trim(),
      name: nameInput.value.trim(),
      type: fields ? fields.dataset.kind : "",
      adapter,
      settings: {},
      credentials: {},
    };
    if (fields) {
      fields.querySelectorAll("[data-field]").forEach((input) => {
        const [group, ...rest] = input.dataset.field.split(".");
        const value = valueOf(input);
        if (value !== undefined && body[group]) body[group][rest.join(".")] = value;
      });
    }
    if (webhooksWanted()) {
      body.webhook = { scheme: webhookScheme.value };
      const secret = webhookSecret.value.trim();
      if (secret) body.credentials.webhook_secret = secret;
    }
    return body;
  }

  function chosenEntities() {
    const set = entityFields();
    return set ? Array.from(set.querySelectorAll('input[name="entity"]:checked')).map((box) => box.value) : [];
  }

  function fieldMapping(entities) {
    const mapping = {};
    mappingBox.querySelectorAll(".mapping-entity").forEach((block) => {
      const entity = block.dataset.entity;
      if (!entities.includes(entity) || !block.querySelector("[data-map-toggle]").checked) return;
      const rows = Array.from(block.querySelectorAll("tr[data-source]")).filter((row) => row.querySelector("[data-use]").checked);
      mapping[entity] = rows.map((row, index) => {
        const target = row.querySelector("[data-target]");
        const path = "field_mapping." + entity + "." + index + ".target";
        target.dataset.field = path;
        row.querySelector(".field-error").dataset.errorFor = path;
        return { source: row.dataset.source, target: target.value.trim(), transform: row.querySelector("[data-transform]").value };
      });
    });
    return mapping;
  }

  function integration() {
    const body = connection();
    const entities = chosenEntities();
    if (entities.length) body.entities = entities;
    const mapping = fieldMapping(entities);
    if (Object.keys(mapping).length) body.field_mapping = mapping;
    body.schedule = { enabled: scheduleOn.checked };
    if (cronInput.value.trim()) body.schedule.cron = cronInput.value.trim();
    return body;
  }

  // -- errors -----------------------------------------------------------------------------------
  function clearErrors(scope) {
    (scope || form).querySelectorAll("[data-error-for]").forEach((node) => { node.textContent = ""; });
    (scope || form).querySelectorAll('[aria-invalid="true"]').forEach((node) => node.removeAttribute("aria-invalid"));
    if (!scope) { formError.hidden = true; formError.textContent = ""; }
  }

  function errorSlot(field) {
    // The deepest named place that is shown: `settings.page_size.0` falls back to `settings.page_size`.
    const parts = field.split(".");
    while (parts.length) {
      const path = parts.join(".");
      const slots = form.querySelectorAll('[data-error-for="' + CSS.escape(path) + '"]');
      const slot = Array.from(slots).find((node) => !node.closest("fieldset[disabled]"));
      if (slot) return { slot, path };
      parts.pop();
    }
    return null;
  }

  function showErrors(errors) {
    let first = null;
    const general = [];
    (errors || []).forEach((error) => {
      const found = error.field ? errorSlot(error.field) : null;
      if (!found) { general.push((error.field ? error.field + ": " : "") + error.message); return; }
      found.slot.textContent = found.slot.textContent ? found.slot.textContent + "; " + error.message : error.message;
      const input = form.querySelector('[data-field="' + CSS.escape(found.path) + '"]:not(:disabled)');
      if (input) input.setAttribute("aria-invalid", "true");
      const step = Number(found.slot.closest("section.step").dataset.step);
      if (first === null || step < first) first = step;
    });
    if (general.length) {
      formError.textContent = general.join(" · ");
      formError.hidden = false;
    }
    if (first !== null && first !== current) show(first);
  }

  // `prefix`: where the request put the integration (the sample request nests it).
  function problem(answer, prefix) {
    if (answer.status === 422 && Array.isArray(answer.data.errors)) {
      const strip = (field) => (prefix && field.startsWith(prefix) ? field.slice(prefix.length) : field);
      showErrors(answer.data.errors.map((error) => ({ field: strip(error.field || ""), message: error.message })));
      return "fix the marked fields";
    }
    return Hub.problemText(answer);
  }

  function checkStep(step) {
    const section = steps[step - 1];
    clearErrors(section);
    let ok = true;
    if (step === 1 && !form.querySelector('input[name="adapter"]:checked')) {
      form.querySelector('[data-error-for="adapter"]').textContent = "Choose the type of integration.";
      return false;
    }
    section.querySelectorAll("[data-field]").forEach((input) => {
      if (input.disabled || input.closest("fieldset[disabled]")) return;
      let message = input.checkValidity() ? "" : input.validationMessage;
      if (!message && input.dataset.type === "json" && input.value.trim()) {
        try { JSON.parse(input.value); } catch (error) { message = "must be valid JSON"; }
      }
      if (!message && input === webhookSecret) message = secretProblem();
      if (message) {
        showErrors([{ field: input.dataset.field, message }]);
        ok = false;
      }
    });
    if (!checkAlternatives(section)) ok = false;
    if (step === 4) {
      const set = entityFields();
      if (set && set.querySelector('input[name="entity"]') && !chosenEntities().length) {
        form.querySelector('[data-error-for="entities"]').textContent = "Choose at least one entity to sync.";
        ok = false;
      }
    }
    return ok;
  }

  // Credentials that are alternatives (a password or a token): one of each group is needed.
  function checkAlternatives(section) {
    const groups = new Map();
    section.querySelectorAll("[data-one-of]").forEach((input) => {
      if (input.disabled || input.closest("fieldset[disabled]")) return;
      const group = groups.get(input.dataset.oneOf) || [];
      group.push(input);
      groups.set(input.dataset.oneOf, group);
    });
    let ok = true;
    groups.forEach((inputs) => {
      if (inputs.some((input) => input.value.trim() !== "")) return;
      showErrors([{ field: inputs[0].dataset.field, message: inputs[0].dataset.oneOfMessage }]);
      ok = false;
    });
    return ok;
  }

  // -- connection test, samples, schedule hint ----------------------------------------------------
  async function testConnection() {
    if (!checkStep(2)) return;
    testResult.className = "test-result busy";
    testResult.textContent = "Testing…";
    const answer = await Hub.api("POST", "/api/connection-tests", connection());
    const data = answer.data || {};
    if (answer.ok && data.ok) {
      testResult.className = "test-result ok";
      testResult.textContent = "✓ Connected in " + Math.round(data.latency_ms || 0) + " ms" + (data.detail ? ": " + data.detail : "");
    } else {
      testResult.className = "test-result err";
      testResult.textContent = "✗ Failed: " + (answer.ok ? data.detail || "no detail" : problem(answer));
    }
  }

  function readPath(record, path) {
    return path.split(".").reduce((value, part) => (value != null && typeof value === "object" ? value[part] : undefined), record);
  }

  function targetName(path) {
    let name = path.replace(/[^A-Za-z0-9_]/g, "_");
    if (/^[0-9]/.test(name)) name = "_" + name;
    return name.slice(0, 64);
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([key, value]) => node.setAttribute(key, value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function mappingRow(path, sample) {
    const row = element("tr", { "data-source": path });
    const use = element("input", { type: "checkbox", "data-use": "", "aria-label": "Use " + path });
    use.checked = true;
    row.appendChild(element("td")).appendChild(use);
    row.appendChild(element("td")).appendChild(element("code", {}, path));
    const shown = sample === undefined ? "" : typeof sample === "object" ? JSON.stringify(sample) : String(sample);
    row.appendChild(element("td", { class: "sample", title: shown }, shown));
    const target = row.appendChild(element("td"));
    target.appendChild(element("input", { type: "text", "data-target": "", value: targetName(path), "aria-label": "Target name for " + path }));
    target.appendChild(element("p", { class: "field-error" }));
    const select = element("select", { "data-transform": "", "aria-label": "Transform for " + path });
    transforms.forEach((name) => select.appendChild(element("option", { value: name }, name)));
    row.appendChild(element("td")).appendChild(select);
    return row;
  }

  function mappingBlock(entity, sample) {
    const block = element("section", { class: "mapping-entity as-is", "data-entity": entity });
    block.appendChild(element("h3", {}, entity));
    const toggle = element("input", { type: "checkbox", "data-map-toggle": "" });
    const label = element("label", { class: "check" });
    label.append(toggle, " Map the fields of " + entity + " (otherwise records are kept as the source sends them)");
    block.appendChild(label);
    const table = block.appendChild(element("table", { class: "data mapping" }));
    const head = table.appendChild(element("thead")).appendChild(element("tr"));
    ["Use", "Source field", "Sample", "Target name", "Transform"].forEach((title) => head.appendChild(element("th", {}, title)));
    const body = table.appendChild(element("tbody"));
    const first = (sample.records || [])[0] || {};
    (sample.fields || []).forEach((path) => body.appendChild(mappingRow(path, readPath(first, path))));
    const setEnabled = () => {
      block.classList.toggle("as-is", !toggle.checked);
      table.querySelectorAll("input, select").forEach((input) => { input.disabled = !toggle.checked; });
    };
    toggle.addEventListener("change", setEnabled);
    setEnabled();
    return block;
  }

  async function loadSamples() {
    const input = connection();
    const key = JSON.stringify(input);
    if (key === sampled) return;
    sampled = key;
    mappingBox.replaceChildren();
    const set = entityFields();
    const entities = set ? Array.from(set.querySelectorAll('input[name="entity"]')).map((box) => box.value) : [];
    if (!entities.length) {
      mappingBox.appendChild(element("p", { class: "muted" }, "This type has no entities to map: records are kept as the source sends them."));
      return;
    }
    if (receivesOnly()) {
      mappingBox.appendChild(element("p", { class: "muted" }, "This type only receives webhooks, so there is nothing to sample: records are kept as its template reads them from each delivery."));
      return;
    }
    await Promise.all(entities.map(async (entity) => {
      const slot = mappingBox.appendChild(element("p", { class: "muted", "data-sample-of": entity }, "Reading a sample of " + entity + "…"));
      const answer = await Hub.api("POST", "/api/samples", { integration: input, entity });
      if (answer.ok) {
        slot.replaceWith(mappingBlock(entity, answer.data));
      } else {
        slot.className = "bad";
        slot.textContent = "No sample of " + entity + ": " + problem(answer, "integration.") + ". Its records will be kept as the source sends them.";
      }
    }));
  }

  let hintTimer = 0;
  cronInput.addEventListener("input", () => {
    window.clearTimeout(hintTimer);
    hintTimer = window.setTimeout(() => {
      Hub.refresh(document.getElementById("cron-hint"), "/fragments/cron-hint?" + new URLSearchParams({ cron: cronInput.value }));
    }, 250);
  });

  // -- save -------------------------------------------------------------------------------------
  async function save(button) {
    clearErrors();
    if (!checkStep(2)) { show(2); return; }
    if (!checkStep(4)) return;
    button.disabled = true;
    button.textContent = "Saving…";
    const body = integration();
    const answer = await Hub.api("POST", "/api/integrations", body);
    if (answer.ok) {
      window.location.assign("/integrations/" + encodeURIComponent(answer.data.id || body.id));
      return;
    }
    button.disabled = false;
    button.textContent = "Save integration";
    if (answer.status === 409) {
      showErrors([{ field: "id", message: "an integration with this ID exists already" }]);
    } else if (answer.status !== 422 || !Array.isArray(answer.data.errors)) {
      formError.textContent = "Could not save: " + Hub.problemText(answer);
      formError.hidden = false;
    } else {
      problem(answer);
    }
  }

  form.addEventListener("click", (click) => {
    const button = click.target.closest("button");
    if (!button) return;
    if (button.hasAttribute("data-next")) {
      if (!checkStep(current)) return;
      if (current === 1) choose(form.querySelector('input[name="adapter"]:checked').value);
      if (current === 2) loadSamples();
      show(current + 1);
    } else if (button.hasAttribute("data-back")) {
      show(current - 1);
    } else if (button.dataset.action === "test-connection") {
      testConnection();
    } else if (button.dataset.action === "save") {
      save(button);
    } else if (button.dataset.action === "generate-secret") {
      generateSecret();
    }
  });
  form.addEventListener("submit", (submit) => submit.preventDefault());

  if (wizard.dataset.chosen) {
    choose(wizard.dataset.chosen);
    show(2);
  }
})();
