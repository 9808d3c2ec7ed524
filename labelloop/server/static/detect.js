// Labeling and reviewing a detection project: boxes drawn in the box editor,
// the model's proposals beside them, saved as one label per image.

import { $, ApiError, api, el, every, failPage, fmtInt, fmtPct, fmtTime, notify, setText, startPage } from "/static/common.js";
import { ClassPad, Workbench, bindKeys, renderTraining, reviewLink, undoLastSaved } from "/static/workbench.js";
import { BoxEditor, classColor, describeBoxes, isBoxList, proposalTag, sameBoxes } from "/static/boxes.js";

const UNDO_DEPTH = 20;
const NUDGE = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

const mode = location.pathname === "/review" ? "review" : "label";
const session = { saved: [], count: 0, undoing: false, outside: false };
let editor = null;
let bench = null;
let classes = [];

// The lease loop of workbench.js, with the box editor as its stage: a save
// that fails keeps the boxes on screen, and a lapsed lease leaves them there
// to be saved outside the queue.
class DetectBench extends Workbench {
  constructor(options) {
    super(options);
    this.stage = editor;
    editor.updateZoomLabel();
    this.pad = new ClassPad($("#class-pad"), options.classes, (name) => editor.setClass(name));
  }

  submit(value) {
    return this.act(async (served) => {
      hideSaveError();
      try {
        const out = await api(this.answerUrl, { method: "POST", body: { lease_id: served.lease_id, value } });
        this.progress.update(out.progress);
        onSaved(out.event);
        return false;
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 401)) showSaveError(error, served, value);
        return true;
      }
    });
  }

  expired() {
    if (!this.served || this.busy) return;
    this.setState("expired");
    showSaveError(new Error("Your reservation on this image ran out and it went back to the queue."), this.served, null);
  }
}

// the side panel ----------------------------------------------------------------

function swatch(label) {
  return el("span", { class: "swatch", style: `background:${classColor(classes, label)}` });
}

function boxRow(kind, box, index) {
  const selected = editor.selected?.kind === kind && editor.selected.index === index;
  const size = `${Math.round(box.x)},${Math.round(box.y)} ${Math.round(box.width)}×${Math.round(box.height)}`;
  const remove = el("button", {
    type: "button", class: "ghost small", title: kind === "box" ? "Delete" : "Reject", "aria-label": kind === "box" ? "Delete box" : "Reject proposal",
    onclick: (event) => {
      event.stopPropagation();
      editor.select(kind, index);
      editor.deleteSelected();
    },
  }, "✕");
  const accept = kind === "proposal"
    ? el("button", {
        type: "button", class: "ghost small", title: "Accept", "aria-label": "Accept proposal",
        onclick: (event) => {
          event.stopPropagation();
          editor.acceptProposal(index);
        },
      }, "✓")
    : null;
  return el("li", {
    class: selected ? "selected" : null,
    dataset: { kind, index: String(index) },
    onclick: () => editor.select(kind, index),
  },
    swatch(box.label),
    el("strong", {}, box.label),
    kind === "proposal" ? el("span", { class: "num score", title: proposalTag(box) }, box.score.toFixed(2)) : null,
    el("span", { class: "muted num coords" }, size),
    el("span", { class: "spacer" }),
    accept,
    remove,
  );
}

function refreshPanel() {
  const ready = bench?.state === "ready";
  const boxes = editor.boxes;
  $("#box-list").replaceChildren(
    ...(boxes.length ? boxes.map((b, i) => boxRow("box", b, i)) : [el("li", { class: "faint empty" }, "No boxes yet: drag on the image to draw one.")]),
  );
  setText("#box-count", fmtInt(boxes.length));
  const proposals = editor.proposals;
  $("#proposal-panel").hidden = proposals.length === 0;
  setText("#proposal-count", `(${proposals.length})`);
  $("#proposal-list").replaceChildren(...proposals.map((p, i) => boxRow("proposal", p, i)));
  const least = Math.min(...proposals.map((p) => p.score));
  setText("#proposal-hint", proposals.length ? `Least certain ${least.toFixed(2)}. Proposals not accepted are dropped on save.` : "");
  setText("#class-hint", `next box: ${editor.currentClass}`);
  toggleButton("#draw-mode", editor.drawMode);
  toggleButton("#hide-proposals", editor.proposalsHidden);
  $("#hide-proposals").hidden = proposals.length === 0;
  setText("#proposal-hidden", editor.proposalsHidden ? "hidden on the image" : "");
  bench?.pad.mark(editor.currentClass, "chosen");
  setText("#edit-state", editor.dirty ? "unsaved edits" : "");
  $("#save").disabled = !ready;
  $("#no-objects").disabled = !ready;
  $("#undo-edit").disabled = !ready || !editor.past.length;
  $("#accept-all").disabled = !ready;
  $("#accept").disabled = !ready || !autoValue();
}

function toggleButton(selector, on) {
  const button = $(selector);
  button.setAttribute("aria-pressed", String(on));
  button.classList.toggle("on", on);
}

function autoValue() {
  const current = bench?.served?.current;
  return mode === "review" && current && isBoxList(current.value) ? current.value : null;
}

function onServed(served) {
  hideSaveError();
  if (!served) {
    editor.reset([], []);
    setText("#rank", "");
    return;
  }
  const auto = mode === "review" && isBoxList(served.current?.value) ? served.current : null;
  const proposals = mode === "label" ? served.prediction?.boxes ?? [] : [];
  editor.reset(auto ? auto.value : [], proposals);
  const facts = [];
  if (served.rank != null) facts.push(`queue rank ${fmtInt(served.rank + 1)}`);
  if (served.uncertainty != null) facts.push(`uncertainty ${served.uncertainty.toFixed(3)}`);
  const least = served.prediction?.confidence ?? auto?.confidence ?? null;
  if (least != null) facts.push(`least certain box ${least.toFixed(2)}`);
  setText("#rank", facts.join(" · "));
  if (mode === "review") {
    setText("#auto-summary", auto
      ? `${describeBoxes(auto.value)} · by model ${auto.model_version ?? "?"} · ${fmtTime(auto.created_at)} · least certain box ${auto.confidence == null ? "–" : fmtPct(auto.confidence)}`
      : "–");
  }
}

function onState(state) {
  $("#side-panel").hidden = state === "forbidden";
  refreshPanel();
}

function onEmpty(user) {
  return (progress) => mode === "review"
    ? bench.emptyMessage(
        "No auto-labels are waiting for review.",
        null,
        el("a", { class: "button", href: "/label" }, "Label images"),
      )
    : bench.emptyMessage(
        "All caught up: nothing left to label.",
        "Every image has boxes or is reserved by someone else.",
        reviewLink(user, progress),
      );
}

// saving ----------------------------------------------------------------------------

function hideSaveError() {
  const box = $("#save-error");
  box.hidden = true;
  box.replaceChildren();
}

// Say why a save failed; the boxes stay in the editor. A closed or lapsed lease
// can still be saved outside the queue, if nobody labeled the image since.
function showSaveError(error, served, value) {
  const stale = error instanceof ApiError ? error.status === 409 : value === null;
  const box = $("#save-error");
  box.replaceChildren(
    el("strong", {}, "Not saved. "),
    error instanceof ApiError ? `${error.detail}. ` : `${error.message} `,
    "Your boxes are still here.",
    stale
      ? el("div", { class: "row" },
          el("button", { type: "button", class: "small", id: "save-outside", onclick: () => saveOutside(served) }, "Save them anyway"),
          el("button", { type: "button", class: "small", id: "next-item", onclick: () => bench.loadNext() }, "Next item"),
        )
      : null,
  );
  box.hidden = false;
}

async function saveOutside(served) {
  if (session.outside) return;
  session.outside = true;
  try {
    const event = await api(`/api/items/${served.item.id}/labels`, {
      method: "POST",
      body: { value: editor.value(), expected_event_id: served.current?.id ?? null },
    });
    onSaved(event);
    await bench.loadNext();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) showSaveError(error, served, []);
  } finally {
    session.outside = false;
  }
}

function save() {
  if (bench.state !== "ready") return;
  const value = editor.value();
  const auto = autoValue();
  if (!value.length && !(auto && sameBoxes(auto, value))) {
    notify("No boxes drawn. If the image has no objects, press “No objects”.", "warn");
    return;
  }
  bench.submit(value);
}

function onSaved(event) {
  session.saved.push({ itemId: event.item_id, eventId: event.id, value: event.value });
  if (session.saved.length > UNDO_DEPTH) session.saved.shift();
  session.count += 1;
  if (mode === "review") notify(`${event.action === "accept" ? "Accepted" : "Saved"} ${describeBoxes(event.value)} on item #${event.item_id}.`, "ok", 2000);
  refreshUndo();
}

function refreshUndo() {
  setText("#session-count", `${fmtInt(session.count)} saved this session`);
  const last = session.saved.at(-1);
  $("#undo").disabled = !last || session.undoing;
  if (!last) {
    setText("#last-label", session.count ? "Nothing left to undo." : "Nothing saved yet in this session.");
    return;
  }
  $("#last-label").replaceChildren(
    "Last: ",
    el("strong", {}, describeBoxes(last.value)),
    " on ",
    el("a", { href: `/history?item=${last.itemId}` }, `item #${last.itemId}`),
  );
}

// Undo the last save; the image is unlabeled again and comes back through the queue.
function undoSave() {
  // Labeling: the undone image comes straight back to this person (review takes the queue).
  const bringBack = location.pathname.startsWith("/label");
  return undoLastSaved({ bench, session, stack: session.saved, describe: describeBoxes, refresh: refreshUndo, bringBack });
}

// keys --------------------------------------------------------------------------------

function onKey(key, event) {
  if (key === "+" || key === "=" || key === "-" || key === "_") {
    editor.zoomBy(key === "+" || key === "=" ? 1 : -1);
    return true;
  }
  const state = bench.state;
  if (["expired", "empty", "error"].includes(state) && (key === "n" || key === "N" || key === "Enter")) {
    bench.loadNext();
    return true;
  }
  if (key === " ") {
    editor.setPanning(true);
    return true;
  }
  if (state !== "ready") return false;
  if (key === "Escape") {
    if (!editor.cancelDrag()) editor.select(null);
    return true;
  }
  if (key === "Tab") return editor.cycle(event.shiftKey ? -1 : 1) || true;
  if (key === "d" || key === "D") {
    editor.setDrawMode(!editor.drawMode);
    return true;
  }
  if (key === "h" || key === "H") {
    editor.setProposalsHidden(!editor.proposalsHidden);
    return true;
  }
  if (key in NUDGE) return editor.nudge(...NUDGE[key].map((d) => d * (event.shiftKey ? 10 : 1)));
  if (event.repeat) return false;
  if (key === "Delete" || key === "Backspace") return editor.deleteSelected() || true;
  if (key === "A") return editor.acceptAll() || true;
  if (key === "a") return editor.acceptSelected() || true;
  if (key === "Enter") {
    save();
    return true;
  }
  const name = bench.pad.classForKey(key);
  if (name !== undefined) {
    editor.setClass(name);
    return true;
  }
  if (key === "s" || key === "S") {
    bench.skip();
    return true;
  }
  if (key === "z" || key === "Z") {
    undoSave();
    return true;
  }
  return false;
}

// Ctrl/Cmd+Z and +Shift+Z (or +Y) undo and redo edits; bindKeys leaves modified keys alone.
function onModifiedKey(event) {
  if (!(event.ctrlKey || event.metaKey) || event.altKey || bench.state !== "ready") return;
  if (event.target instanceof HTMLElement && event.target.closest("input, textarea, select")) return;
  const key = event.key.toLowerCase();
  if (key === "z" && !event.shiftKey) editor.undo();
  else if (key === "y" || (key === "z" && event.shiftKey)) editor.redo();
  else return;
  event.preventDefault();
}

function onClick(selector, action) {
  $(selector).addEventListener("click", (event) => {
    if (event.detail > 0) event.currentTarget.blur();
    action();
  });
}

async function main() {
  const { user, project } = await startPage(mode);
  classes = project.classes;
  document.title = `${mode === "review" ? "Review boxes" : "Draw boxes"} · ${project.name}`;
  editor = new BoxEditor($("#stage"), { classes, zoomLabel: $("#zoom-level"), onChange: refreshPanel });
  bench = new DetectBench({ kind: mode, classes, onServed, onEmpty: onEmpty(user), onState });
  bench.progress.update(project.progress);
  $("#auto-card").hidden = mode !== "review";
  onClick("#save", save);
  onClick("#no-objects", () => bench.submit([]));
  onClick("#accept", () => autoValue() && bench.submit(autoValue()));
  onClick("#accept-all", () => editor.acceptAll());
  onClick("#undo-edit", () => editor.undo());
  onClick("#draw-mode", () => editor.setDrawMode(!editor.drawMode));
  onClick("#hide-proposals", () => editor.setProposalsHidden(!editor.proposalsHidden));
  onClick("#undo", undoSave);
  bindKeys(onKey);
  document.addEventListener("keydown", onModifiedKey);
  document.addEventListener("keyup", (event) => {
    if (event.key === " ") editor.setPanning(false);
  });
  window.addEventListener("blur", () => editor.setPanning(false));
  refreshUndo();
  refreshPanel();
  every(5000, async () => renderTraining($("#training"), await api("/api/training")));
  await bench.loadNext();
}

main().catch(failPage);
