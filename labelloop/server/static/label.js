// The labeling view: one leased image at a time, answered by a click or a number key.

import { $, api, el, every, failPage, fmtInt, notify, setText, startPage } from "/static/common.js";
import { Workbench, bindKeys, renderTraining, reviewLink, undoLastSaved } from "/static/workbench.js";

const UNDO_DEPTH = 20;
const GUESS_MS = 4000;

const session = {
  mode: "after", // the project's show_prediction
  undo: [], // the annotator's own labels, newest last: {itemId, eventId, value}
  count: 0,
  undoing: false,
  guessTimer: null,
  storeKey: null, // sessionStorage key: undo survives a reload of the tab
};
let bench = null;
let refreshTraining = () => {};

function onServed(served) {
  const guess = served?.prediction;
  bench.pad.mark(guess?.label, "predicted");
  setText("#prediction-hint", guess ? `Model suggests “${guess.label}” (p = ${guess.confidence.toFixed(2)}); Enter takes it.` : "");
  setText("#rank", served?.rank == null ? "" : `queue rank ${fmtInt(served.rank + 1)}`);
}

function emptyMessage(user) {
  return (progress) => bench.emptyMessage(
    "All caught up: nothing left to label.",
    "Every item has a label or is reserved by someone else. New work appears here when images are added, a label is undone, or a reservation runs out.",
    reviewLink(user, progress),
    el("a", { class: "button", href: "/dashboard" }, "Dashboard"),
  );
}

function onAnswered(out, value) {
  session.undo.push({ itemId: out.event.item_id, eventId: out.event.id, value: out.event.value });
  if (session.undo.length > UNDO_DEPTH) session.undo.shift();
  session.count += 1;
  refreshUndo();
  refreshTraining();
  if (session.mode === "after" && out.prediction) showGuess(out.prediction, value, out.event.item_id);
}

// The note appears while the next image is already on screen: a thumbnail
// says which image it is about.
function showGuess(prediction, answer, itemId) {
  const box = $("#guess");
  clearTimeout(session.guessTimer);
  const agrees = prediction.label === answer;
  box.className = `guess ${agrees ? "agree" : "disagree"}`;
  box.replaceChildren(
    el("img", { class: "guess-thumb", src: `/api/items/${itemId}/image`, alt: `item ${itemId}`, dataset: { itemId } }),
    el("span", {}, `Model guessed “${prediction.label}” (p = ${prediction.confidence.toFixed(2)}) for this one${agrees ? ", same as you." : `; you said “${answer}”.`}`),
  );
  box.hidden = false;
  session.guessTimer = setTimeout(() => (box.hidden = true), GUESS_MS);
}

function restoreSession(username) {
  session.storeKey = `labelloop.label.${username}`;
  try {
    const saved = JSON.parse(sessionStorage.getItem(session.storeKey) || "null");
    if (saved && Array.isArray(saved.undo)) {
      session.undo = saved.undo.slice(-UNDO_DEPTH);
      session.count = Number(saved.count) || 0;
    }
  } catch {
    // a damaged entry only costs the undo history
  }
}

function refreshUndo() {
  if (session.storeKey) {
    sessionStorage.setItem(session.storeKey, JSON.stringify({ undo: session.undo, count: session.count }));
  }
  setText("#session-count", `${fmtInt(session.count)} this session`);
  const last = session.undo.at(-1);
  $("#undo").disabled = !last || session.undoing;
  const note = $("#last-label");
  if (!last) {
    note.textContent = session.count ? "Nothing left to undo." : "Nothing labeled yet in this session.";
    return;
  }
  note.replaceChildren(
    "Last: ",
    el("strong", {}, `“${last.value}”`),
    " on ",
    el("a", { href: `/history?item=${last.itemId}` }, `item #${last.itemId}`),
  );
}

// Undo the annotator's last label; the item is unlabeled again and shown again at once.
function undo() {
  return undoLastSaved({
    bench, session, stack: session.undo, describe: (v) => `“${v}”`, refresh: refreshUndo, bringBack: true,
  });
}

function onKey(key, event) {
  if (!event.repeat && (key === "z" || key === "Z" || key === "Backspace")) {
    undo();
    return true;
  }
  if (key === "Enter" && !event.repeat && bench.state === "ready" && bench.served?.prediction) {
    bench.answer(bench.served.prediction.label);
    return true;
  }
  return bench.key(key, event);
}

async function main() {
  const { user, project } = await startPage("label");
  session.mode = project.config.show_prediction;
  restoreSession(user.username);
  bench = new Workbench({ kind: "label", classes: project.classes, onServed, onEmpty: emptyMessage(user), onAnswered });
  bench.progress.update(project.progress);
  const prefill = session.mode === "prefill";
  $("#enter-key").hidden = !prefill;
  $("#enter-help").hidden = !prefill;
  if (project.task !== "classification") {
    bench.stage.message(el("strong", {}, `This view labels classification projects; “${project.name}” is a ${project.task} project.`));
    bench.setState("unsupported");
    return;
  }
  $("#undo").addEventListener("click", (event) => {
    if (event.detail > 0) event.currentTarget.blur();
    undo();
  });
  bindKeys(onKey);
  refreshUndo();
  refreshTraining = every(5000, async () => renderTraining($("#training"), await api("/api/training")));
  await bench.loadNext();
}

main().catch(failPage);
