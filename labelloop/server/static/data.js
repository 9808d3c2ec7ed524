// The data browser: a paged grid of the project's items, filtered and sorted
// by the server; an item opens beside the grid with its history, and can be
// relabeled there (a class, or boxes in a small box editor).
// The filters live in the address, so a view can be bookmarked and shared.

import { $, ApiError, api, el, failPage, fmtInt, fmtTime, fmtValue, notify, setText, startPage } from "/static/common.js";
import { ClassPad } from "/static/workbench.js";
import { BoxEditor, boxesPreview, describeBoxes, isBoxList } from "/static/boxes.js";

const PAGE_SIZE = 100;
const FILTERS = ["name", "label", "origin", "annotator", "split", "flag", "min_confidence", "max_confidence", "since", "until", "sort", "order"];
const ORIGIN_WORDS = {
  human: "labeled by a person",
  reviewed: "auto label a person checked",
  auto: "auto label, unchecked",
  import: "imported with its label",
  synthetic: "synthesized",
  unlabeled: "unlabeled",
};

const view = { page: 1, total: 0, rows: [], selected: null, asked: 0 };
let project = null;
let detection = false;
let editor = null;

function describe(value) {
  if (value === null || value === undefined) return "unlabeled";
  return isBoxList(value) ? describeBoxes(value) : fmtValue(value);
}

// filters <-> address ---------------------------------------------------------------

function readAddress() {
  const params = new URLSearchParams(location.search);
  for (const key of FILTERS) {
    const input = $("#filters").elements[key];
    if (input) input.value = params.get(key) ?? (key === "sort" ? "id" : key === "order" ? "asc" : "");
  }
  view.page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  view.selected = Math.max(0, Number.parseInt(params.get("item") ?? "", 10) || 0) || null;
}

function formParams() {
  const params = new URLSearchParams();
  for (const key of FILTERS) {
    const value = $("#filters").elements[key].value.trim();
    if (value && !(key === "sort" && value === "id") && !(key === "order" && value === "asc")) params.set(key, value);
  }
  return params;
}

function writeAddress() {
  const params = formParams();
  if (view.page > 1) params.set("page", String(view.page));
  if (view.selected) params.set("item", String(view.selected));
  const query = params.toString();
  history.replaceState(null, "", query ? `/data?${query}` : "/data");
}

// The API's query: dates become the start of that day (since) and of the next (until), UTC.
function apiQuery() {
  const params = formParams();
  if (params.has("since")) params.set("since", `${params.get("since")}T00:00:00Z`);
  if (params.has("until")) {
    const next = new Date(`${params.get("until")}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    params.set("until", next.toISOString());
  }
  params.set("offset", String((view.page - 1) * PAGE_SIZE));
  params.set("limit", String(PAGE_SIZE));
  return params.toString();
}

function options(select, values, words = {}) {
  select.append(...values.map((v) => el("option", { value: v }, words[v] ? `${v} (${words[v]})` : v)));
}

// the grid -------------------------------------------------------------------------

function thumbNode(row, size = 140) {
  const img = el("img", {
    class: Math.max(row.item.width, row.item.height) < 64 ? "tiny" : null,
    src: row.thumbnail_url,
    alt: `item ${row.item.id}`,
    loading: "lazy",
    width: String(size),
    height: String(Math.round((size * row.item.height) / Math.max(row.item.width, row.item.height))),
  });
  if (!isBoxList(row.value) || !row.value.length) return el("span", { class: "thumb-frame" }, img);
  return el("span", { class: "thumb-frame" }, img, boxesPreview(row.value, row.item.width, row.item.height, project.classes));
}

function card(row) {
  const confidence = row.confidence === null ? null : `conf ${row.confidence.toFixed(2)}`;
  return el("li", {
    class: `item-card${view.selected === row.item.id ? " selected" : ""}`,
    dataset: { itemId: String(row.item.id) },
    tabindex: "0",
    onclick: () => openDetail(row.item.id),
    onkeydown: (event) => {
      if (event.key === "Enter") openDetail(row.item.id);
    },
  },
    el("div", { class: "item-thumb" }, thumbNode(row)),
    el("div", { class: "item-caption" },
      el("span", { class: "num muted" }, `#${row.item.id}`),
      el("strong", { class: "item-label", title: describe(row.value) }, describe(row.value)),
    ),
    el("div", { class: "item-caption" },
      el("span", { class: `origin origin-${row.origin}`, title: ORIGIN_WORDS[row.origin] }, row.origin),
      confidence ? el("span", { class: "num muted" }, confidence) : null,
      ...row.flags.map((flag) => el("span", { class: "flag-chip" }, flag.replace("_", " "))),
    ),
  );
}

async function load() {
  writeAddress();
  $("#data-error").hidden = true;
  // Only the latest request draws: an earlier one answering late is dropped.
  const asked = ++view.asked;
  let page;
  try {
    page = await api(`/api/items?${apiQuery()}`);
    if (asked !== view.asked) return;
  } catch (error) {
    if (asked !== view.asked || (error instanceof ApiError && error.status === 401)) return;
    $("#data-error").hidden = false;
    setText("#data-error", `Could not load the items: ${error instanceof ApiError ? error.detail : error.message}`);
    return;
  }
  view.rows = page.items;
  view.total = page.total;
  const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
  if (view.page > pages && page.total > 0) {
    view.page = pages;
    await load();
    return;
  }
  const first = page.total ? page.offset + 1 : 0;
  const last = page.offset + page.items.length;
  setText("#result-count", page.total ? `${fmtInt(first)}–${fmtInt(last)} of ${fmtInt(page.total)} items` : "No item matches");
  setText("#page-of", `page ${fmtInt(view.page)} of ${fmtInt(pages)}`);
  $("#prev-page").disabled = view.page <= 1;
  $("#next-page").disabled = view.page >= pages;
  $("#item-grid").replaceChildren(...page.items.map(card));
}

// one item -------------------------------------------------------------------------

async function openDetail(itemId) {
  view.selected = itemId;
  writeAddress();
  for (const node of document.querySelectorAll(".item-card")) node.classList.toggle("selected", node.dataset.itemId === String(itemId));
  const [found, events] = await Promise.all([api(`/api/items/${itemId}`), api(`/api/items/${itemId}/history`)]);
  const { item, current } = found;
  const value = current ? current.value : null;
  $("#item-detail").hidden = false;
  $("#item-detail").dataset.itemId = String(itemId);
  setText("#detail-title", `Item #${item.id}`);
  $("#detail-history-link").href = `/history?item=${item.id}`;
  const row = view.rows.find((r) => r.item.id === itemId);
  $("#detail-facts").replaceChildren(
    el("dt", {}, "Name"), el("dd", {}, item.name),
    el("dt", {}, "Size"), el("dd", {}, `${item.width}×${item.height}`),
    el("dt", {}, "Split"), el("dd", {}, item.split ?? "not split"),
    el("dt", {}, "Label"), el("dd", { id: "detail-label" }, current && value !== null ? describe(value) : "unlabeled"),
    el("dt", {}, "Origin"), el("dd", {}, row ? ORIGIN_WORDS[row.origin] : "–"),
    el("dt", {}, "Model"), el("dd", {}, row && row.confidence !== null ? `confidence ${row.confidence.toFixed(3)}` : "–"),
    el("dt", {}, "Flags"), el("dd", {}, row && row.flags.length ? row.flags.join(", ") : "none"),
  );
  $("#detail-history").replaceChildren(...(events.length
    ? events.slice().reverse().map((e) => el("li", {},
        el("strong", {}, e.action), " ", describe(e.value), " · ",
        e.annotator ?? e.source, " · ", el("span", { class: "muted" }, fmtTime(e.created_at))))
    : [el("li", { class: "muted" }, "No label events yet.")]));
  const expected = current ? current.id : null;
  if (detection) {
    editor.show({ ...item, image_url: item.image_url }).then(() => editor.layout());
    editor.reset(isBoxList(value) ? value : [], []);
    $("#detail-save").onclick = () => relabel(item.id, editor.value(), expected);
    $("#detail-no-objects").onclick = () => relabel(item.id, [], expected);
    setText("#detail-hint", "Pick a class, then drag on the image to draw; click a box to select it, Delete removes it.");
  } else {
    $("#detail-stage").replaceChildren(el("img", { src: item.image_url, alt: `item ${item.id}`, id: "detail-image" }));
    const pad = new ClassPad($("#detail-pad"), project.classes, (name) => relabel(item.id, name, expected));
    pad.mark(typeof value === "string" ? value : null, "chosen");
    setText("#detail-hint", "Click a class to relabel the item.");
  }
}

async function relabel(itemId, value, expectedEventId) {
  try {
    const event = await api(`/api/items/${itemId}/labels`, {
      method: "POST",
      body: { value, expected_event_id: expectedEventId },
    });
    notify(`Item #${itemId}: ${event.action === "label" ? "labeled" : event.action === "accept" ? "confirmed" : "relabeled"} ${describe(event.value)}.`, "ok", 2500);
    await load();
    await openDetail(itemId);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    notify(`Not saved: ${error instanceof ApiError ? error.detail : error.message}`, "error", 6000);
  }
}

// start ----------------------------------------------------------------------------

async function main() {
  const started = await startPage("data");
  project = started.project;
  detection = project.task === "detection";
  const facets = await api("/api/item-facets");
  options($("#f-label"), facets.classes);
  options($("#f-origin"), facets.origins, ORIGIN_WORDS);
  options($("#f-annotator"), facets.annotators);
  options($("#f-flag"), facets.flags);
  options($("#f-sort"), facets.sorts);
  if (detection) {
    editor = new BoxEditor($("#detail-stage"), { classes: project.classes });
    const pad = new ClassPad($("#detail-pad"), project.classes, (name) => {
      editor.setClass(name);
      pad.mark(editor.currentClass, "chosen");
    });
    pad.mark(editor.currentClass, "chosen");
    $("#detail-box-actions").hidden = false;
    document.addEventListener("keydown", (event) => {
      if ($("#item-detail").hidden || event.target.closest?.("input, select, textarea")) return;
      if (event.key === "Delete" || event.key === "Backspace") editor.deleteSelected();
    });
  }
  readAddress();
  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    view.page = 1;
    load();
  });
  $("#filters").addEventListener("change", (event) => {
    if (event.target.matches("select")) {
      view.page = 1;
      load();
    }
  });
  $("#clear").addEventListener("click", () => {
    $("#filters").reset();
    view.page = 1;
    load();
  });
  $("#prev-page").addEventListener("click", () => {
    view.page -= 1;
    load();
  });
  $("#next-page").addEventListener("click", () => {
    view.page += 1;
    load();
  });
  $("#detail-close").addEventListener("click", () => {
    $("#item-detail").hidden = true;
    view.selected = null;
    writeAddress();
  });
  await load();
  if (view.selected) await openDetail(view.selected);
}

main().catch(failPage);
