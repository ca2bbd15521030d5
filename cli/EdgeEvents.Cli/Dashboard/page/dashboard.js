// EdgeEvents dashboard: one MQTT-over-WebSockets client (MQTT.js) subscribed to the topics in the README's table.
// The broker URL (or the port of the dashboard's relay) and prefix come from the serving CLI (config.json), overridden by
// ?broker=…&prefix=…&asker=…&fleet=1.
// Fleet view (at a hub): every site's topics under sites/{site}/{prefix}/…, cameras named {site}/{camera}, site states
// from fleet/sites/+, questions to one site (sites/{site}/{prefix}/questions/…) or to the hub's own LLM worker.
"use strict";

const MAX_EVENTS = 100;
const MAX_ANSWERS = 10;
const decoder = new TextDecoder();
const $ = (selector, root = document) => root.querySelector(selector);
const cameras = new Map(); // camera id ({site}/{camera} in the fleet view) → { card, snapshotUrl }
const sites = new Map(); // site name → its list item (fleet view)
const pending = new Map(); // question id → answer list item
const answered = new Set(); // answer ids shown (the latest answer is retained: a reconnect delivers it again)

main();

async function main() {
  const config = await loadConfig();
  const prefix = config.prefix;
  const asker = config.asker;
  const fleet = config.fleet;
  const scope = fleet ? `sites/+/${prefix}` : prefix;
  $("[data-testid=broker-url]").textContent = config.broker;
  $("[data-testid=sites]").hidden = !fleet;
  $("[data-testid=question-site]").hidden = !fleet;

  const client = mqtt.connect(config.broker, {
    protocolVersion: 5,
    clientId: `${asker}-${randomHex(4)}`,
    clean: true,
    reconnectPeriod: 2000,
    resubscribe: false, // the connect handler subscribes, on every (re)connect
    connectTimeout: 10000,
  });
  client.on("connect", () => {
    showConnection("connected", "connected");
    const topics = [`${scope}/snapshots/+`, `${scope}/scene/+`, `${scope}/events/+`, `${scope}/status/+`, `${scope}/answers/${asker}`];
    // The hub's own LLM worker (llm --fleet) answers questions to all sites on the hub's prefix.
    if (fleet) topics.push("fleet/sites/+", `${prefix}/answers/${asker}`);
    client.subscribe(topics, { qos: 1 }, (error, granted) => {
      const refused = (granted || []).filter((g) => g.qos >= 128).map((g) => g.topic);
      if (error || refused.length > 0) showConnection("error", `subscription refused: ${error ? error.message : refused.join(", ")}`);
    });
  });
  client.on("reconnect", () => showConnection("connecting", "reconnecting…"));
  client.on("close", () => { if (!client.reconnecting) showConnection("disconnected", "disconnected"); });
  client.on("offline", () => showConnection("disconnected", "disconnected"));
  client.on("error", (error) => showConnection("error", error.message));
  client.on("message", (topic, payload) => {
    const { site, kind, name } = route(topic, prefix);
    const key = (id) => (site ? `${site}/${id}` : id);
    try {
      if (site) knownSite(site);
      if (kind === "site") showSite(name, payload.length === 0 ? null : json(payload));
      else if (kind === "snapshots") showSnapshot(key(name), payload);
      else if (kind === "scene") showScene(key(name), payload.length === 0 ? null : json(payload));
      else if (kind === "events") showEvent(json(payload), site);
      else if (kind === "status") showStatus(key(name), decoder.decode(payload));
      else if (kind === "answers") showAnswer(json(payload));
    } catch (error) {
      console.warn(`unreadable message on ${topic}: ${error.message}`);
    }
  });

  $("[data-testid=ask-form]").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = e.target;
    const text = form.question.value.trim();
    if (!text) return;
    // Fleet view: a camera ({site}/{camera}) picks its site; the answer comes back on the asker's default topic at that
    // site, which its link maps to sites/{site}/{prefix}/answers/{asker} (a replyTo would name a site-local topic).
    let site = fleet ? form.site.value : "";
    let cameraId = form.camera.value;
    if (fleet && cameraId) [site, cameraId] = [cameraId.slice(0, cameraId.indexOf("/")), cameraId.slice(cameraId.indexOf("/") + 1)];
    const question = { version: 1, id: randomHex(16), createdAt: new Date().toISOString(), text, asker };
    if (!fleet) question.replyTo = `${prefix}/answers/${asker}`;
    if (cameraId) question.camera = cameraId;
    const item = addQuestion(question);
    client.publish(`${site ? `sites/${site}/` : ""}${prefix}/questions/${asker}`, JSON.stringify(question), { qos: 1, properties: { contentType: "application/json" } }, (error) => {
      if (error) fillAnswer(item, "error", `not sent: ${error.message}`);
    });
    form.question.value = "";
  });
}

async function loadConfig() {
  let served = {};
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) served = await response.json();
  } catch {
    // Opened from a file or another web server: the query string or the defaults below decide.
  }
  const query = new URLSearchParams(location.search);
  // The dashboard's own relay (a NATS hub) listens on the host the page came from.
  const relay = served.relayPort ? `${location.protocol === "https:" ? "wss" : "ws"}://${location.hostname}:${served.relayPort}/mqtt` : null;
  return {
    broker: query.get("broker") || served.broker || relay || `ws://${location.hostname || "127.0.0.1"}:9001/mqtt`,
    prefix: query.get("prefix") || served.prefix || "edge",
    asker: query.get("asker") || `dashboard-${randomHex(3)}`,
    fleet: query.has("fleet") ? query.get("fleet") !== "0" : served.fleet === true,
  };
}

// {site, kind, name} of a topic: {prefix}/{kind}/{name}, sites/{site}/{prefix}/{kind}/{name}, or fleet/sites/{site}.
function route(topic, prefix) {
  if (topic.startsWith("fleet/sites/")) return { site: null, kind: "site", name: topic.slice("fleet/sites/".length) };
  let site = null;
  if (topic.startsWith("sites/")) {
    const end = topic.indexOf("/", "sites/".length);
    site = topic.slice("sites/".length, end);
    topic = topic.slice(end + 1);
  }
  const [, kind, name] = topic.slice(prefix.length).split("/");
  return { site, kind, name };
}

// A site's entry in the sites bar and the ask box's site selector; its state comes from fleet/sites/{site}.
function knownSite(name) {
  let item = sites.get(name);
  if (item) return item;
  item = element("li", "", { "data-site": name, "data-state": "unknown" });
  item.append(element("b", name), element("span", "unknown", { "data-testid": "site-state" }), element("span", "", { class: "muted", "data-testid": "site-detail" }));
  sites.set(name, item);
  const after = [...sites.keys()].sort().find((other) => other > name);
  $("[data-testid=sites]").insertBefore(item, after ? sites.get(after) : null);
  const option = element("option", name, { value: name });
  const select = $("[data-testid=question-site]");
  select.insertBefore(option, [...select.options].find((o) => o.value > name) ?? null);
  return item;
}

function showSite(name, status) {
  const item = knownSite(name);
  const state = status ? status.state : "unknown";
  item.dataset.state = state;
  $("[data-testid=site-state]", item).textContent = state;
  $("[data-testid=site-detail]", item).textContent = status
    ? `${status.cameras?.length ?? 0} cameras · ${status.eventsLastMinute ?? 0} events/min${status.link ? ` · link ${status.link}` : ""}`
    : "";
  item.title = status?.since ? `${name}: ${state} since ${clock(new Date(status.since))}` : name;
}

function showConnection(state, text) {
  const element = $("[data-testid=connection]");
  element.dataset.state = state;
  element.textContent = text;
}

function camera(id) {
  let entry = cameras.get(id);
  if (entry) return entry;
  const card = $("#camera-card").content.firstElementChild.cloneNode(true);
  card.dataset.camera = id;
  $(".name", card).textContent = id;
  entry = { card, snapshotUrl: null };
  cameras.set(id, entry);
  $("[data-testid=no-cameras]").hidden = true;
  const list = $("[data-testid=cameras]");
  const after = [...cameras.keys()].sort().find((other) => other > id);
  list.insertBefore(card, after ? cameras.get(after).card : null);
  const option = document.createElement("option");
  option.value = option.textContent = id;
  $("[data-testid=question-camera]").append(option);
  return entry;
}

// The payload is the bare JPEG: shown through a Blob URL, the previous one released.
function showSnapshot(id, payload) {
  const entry = camera(id);
  const image = $("[data-testid=snapshot]", entry.card);
  if (entry.snapshotUrl) URL.revokeObjectURL(entry.snapshotUrl);
  entry.snapshotUrl = payload.length === 0 ? null : URL.createObjectURL(new Blob([payload], { type: "image/jpeg" }));
  image.hidden = entry.snapshotUrl === null;
  if (entry.snapshotUrl) image.src = entry.snapshotUrl;
  $("figcaption", entry.card).textContent = entry.snapshotUrl ? `snapshot ${clock(new Date())}` : "no snapshot";
}

function showScene(id, scene) {
  const entry = camera(id);
  $("[data-testid=counts]", entry.card).textContent = scene ? counts(scene.counts) : "";
  const list = $("[data-testid=objects]", entry.card);
  list.replaceChildren(...(scene ? scene.objects : []).map((o) => {
    const item = element("li", "", { "data-testid": "object" });
    item.append(element("b", o.label), element("span", `${Math.round(o.confidence * 100)}%`),
      element("span", o.stationary ? "stationary" : "moving", { class: "tag" }),
      element("span", `since ${clock(new Date(o.firstSeen))}`, { class: "muted" }));
    return item;
  }));
  if (scene && scene.objects.length === 0) list.append(element("li", "nothing in view", { class: "muted" }));
}

function showEvent(e, site) {
  camera(site ? `${site}/${e.camera}` : e.camera);
  const what = e.type === "count" ? counts(e.counts) : `${e.label ?? ""} ${shortTrack(e.trackId)}${e.changes?.length ? ` (${e.changes.join(", ")})` : ""}`;
  const item = element("li", "", { "data-testid": "event", "data-type": e.type });
  item.append(element("time", clock(new Date(e.createdAt))));
  if (site) item.append(element("span", site, { class: "site-name", "data-testid": "event-site" }));
  item.append(element("span", e.camera, { class: "camera-name" }),
    element("span", e.type, { class: `tag ${e.type}` }), element("span", what));
  const list = $("[data-testid=events]");
  list.prepend(item);
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

function showStatus(component, text) {
  const list = $("[data-testid=components]");
  let item = [...list.children].find((c) => c.dataset.component === component);
  if (!item) {
    item = element("li", component, { "data-component": component });
    list.insertBefore(item, [...list.children].find((c) => c.dataset.component > component) ?? null);
  }
  item.dataset.state = text;
  item.title = `${component}: ${text}`;
}

function addQuestion(question) {
  const item = element("li", "", { "data-testid": "answer", "data-state": "waiting" });
  item.append(element("p", question.text, { class: "question" }), element("p", "waiting for the answer…", { class: "muted", "data-testid": "answer-text" }));
  pending.set(question.id, item);
  const list = $("[data-testid=answers]");
  list.prepend(item);
  while (list.children.length > MAX_ANSWERS) list.lastElementChild.remove();
  return item;
}

function showAnswer(answer) {
  if (answered.has(answer.id)) return;
  answered.add(answer.id);
  let item = pending.get(answer.questionId);
  pending.delete(answer.questionId);
  if (!item) item = addQuestion({ id: answer.questionId, text: answer.question });
  const text = [answer.factsAnswer, answer.text?.trim() ? `model ${answer.modelId ?? ""}: “${answer.text.trim()}”` : null].filter(Boolean).join("\n")
    || answer.reason || "(empty answer)";
  fillAnswer(item, answer.status, text);
  item.append(element("p", `${answer.status} · ${answer.completionTokens} tokens · first token ${Math.round(answer.timeToFirstTokenMs)} ms · total ${Math.round(answer.totalMs)} ms`, { class: "muted" }));
}

function fillAnswer(item, status, text) {
  item.dataset.state = "answered";
  item.dataset.status = status;
  const body = $("[data-testid=answer-text]", item);
  body.className = "answer-text";
  body.textContent = text;
}

function element(tag, text, attributes = {}) {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  for (const [name, value] of Object.entries(attributes)) e.setAttribute(name, value);
  return e;
}

const json = (payload) => JSON.parse(decoder.decode(payload));
const counts = (c) => Object.entries(c || {}).sort((a, b) => b[1] - a[1]).map(([label, n]) => `${label} ${n}`).join(" · ") || "nothing";
const clock = (date) => date.toLocaleTimeString([], { hour12: false });
// Track ids are {camera}-{start time}-{n}: the last part tells tracks apart on one card.
const shortTrack = (id) => (id ? `#${id.split("-").pop()}` : "");
const randomHex = (bytes) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
