// One item's history: its image, and every label event from first to last.

import { $, ApiError, api, el, failPage, fmtInt, fmtPct, fmtTime, fmtValue, setText, startPage } from "/static/common.js";
import { boxesPreview, describeBoxes, isBoxList } from "/static/boxes.js";

let classes = [];

// A label value in words: a class name as is, a box list as "3 boxes: 1×cat, 2×dog".
function describe(value) {
  return isBoxList(value) ? describeBoxes(value) : fmtValue(value);
}

// A box list drawn small over the item's frame, for the events table.
function valueCell(value, item) {
  if (!isBoxList(value)) return el("strong", {}, fmtValue(value));
  return el("span", { title: JSON.stringify(value) },
    boxesPreview(value, item.width, item.height, classes, 40),
    el("strong", {}, describeBoxes(value)),
  );
}

function fact(term, value) {
  return [el("dt", {}, term), el("dd", {}, value)];
}

function showItem(item, current) {
  setText("#history-title", `Item #${item.id}`);
  setText("#history-sub", item.name);
  const size = 240;
  const scale = Math.max(1, Math.floor(size / Math.max(item.width, item.height)));
  const fits = item.width * scale <= size && item.height * scale <= size;
  const img = el("img", {
    src: item.image_url,
    alt: `item ${item.id}`,
    id: "history-image",
    style: fits
      ? `width:${item.width * scale}px;height:${item.height * scale}px`
      : "max-width:100%;max-height:100%;image-rendering:auto",
  });
  const boxes = current && isBoxList(current.value) ? current.value : null;
  $("#thumb").replaceChildren(boxes
    ? el("span", { class: "thumb-frame" }, img, boxesPreview(boxes, item.width, item.height, classes))
    : img);
  $("#item-facts").replaceChildren(
    ...fact("Name", item.name),
    ...fact("Size", `${item.width}×${item.height}`),
    ...fact("Split", item.split ?? "pool"),
    ...fact("Current label", current && current.value !== null ? describe(current.value) : "none"),
    ...fact("Labeled by", current && current.value !== null
      ? (current.annotator ? `${current.annotator} (${current.source})` : current.source)
      : "—"),
    ...fact("SHA-256", el("span", { class: "mono", title: item.sha256 }, `${item.sha256.slice(0, 12)}…`)),
  );
}

function eventRow(event, headId, seqOf, item) {
  const supersedes = event.supersedes_id === null
    ? "—"
    : el("a", { href: `#event-${event.supersedes_id}` },
        seqOf.has(event.supersedes_id) ? `seq ${seqOf.get(event.supersedes_id)}` : `event ${event.supersedes_id}`);
  return el("tr", { id: `event-${event.id}`, class: event.id === headId ? "head-row" : null, dataset: { eventId: event.id, action: event.action } },
    el("td", { class: "num" }, event.seq),
    el("td", {}, el("span", { class: `pill ${event.action}` }, event.action)),
    el("td", { class: "value" }, valueCell(event.value, item)),
    el("td", {}, el("span", { class: `pill ${event.source}` }, event.source)),
    el("td", {}, event.annotator ?? "—"),
    el("td", {}, event.model_version ?? "—"),
    el("td", { class: "num" }, event.confidence === null ? "—" : fmtPct(event.confidence)),
    el("td", { title: event.created_at }, fmtTime(event.created_at)),
    el("td", {}, supersedes),
  );
}

async function load(itemId) {
  const box = $("#history");
  try {
    const [{ item, current }, events] = await Promise.all([
      api(`/api/items/${itemId}`),
      api(`/api/items/${itemId}/history`),
    ]);
    showItem(item, current);
    const seqOf = new Map(events.map((e) => [e.id, e.seq]));
    $("#events tbody").replaceChildren(...events.map((e) => eventRow(e, current?.id, seqOf, item)));
    setText("#event-count", `${fmtInt(events.length)} event${events.length === 1 ? "" : "s"}`);
    setText("#history-message", events.length ? "The highlighted row is the item's current state." : "No label events yet: the item has never been labeled.");
    box.dataset.state = "ready";
    box.dataset.itemId = String(item.id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    box.dataset.state = "error";
    setText("#history-title", `Item #${itemId}`);
    $("#history-message").replaceChildren(
      el("div", { class: "alert error", role: "alert" }, error instanceof ApiError && error.status === 404 ? `There is no item ${itemId} in this project.` : `Could not load item ${itemId}: ${error.message}`),
    );
  }
}

async function main() {
  ({ project: { classes } } = await startPage("history"));
  const itemId = new URLSearchParams(location.search).get("item");
  $("#item-jump").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("#item-input").value.trim();
    if (value) location.assign(`/history?item=${encodeURIComponent(value)}`);
  });
  if (itemId && /^\d+$/.test(itemId)) {
    $("#item-input").value = itemId;
    await load(itemId);
  } else {
    $("#history").dataset.state = "idle";
    setText("#history-message", "Enter an item id to see its history.");
  }
}

main().catch(failPage);
