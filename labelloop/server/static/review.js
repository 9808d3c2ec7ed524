// The review view: the model's auto labels, least confident first; accept or correct each.

import { $, api, el, every, failPage, fmtInt, fmtPct, fmtTime, notify, setText, startPage } from "/static/common.js";
import { Workbench, bindKeys, renderTraining } from "/static/workbench.js";

let bench = null;
let reviewed = 0;

function onServed(served) {
  const auto = served?.current;
  const confidence = auto?.confidence ?? served?.prediction?.confidence ?? null;
  setText("#auto-value", auto ? String(auto.value) : "–");
  setText("#auto-confidence", confidence === null ? "–" : fmtPct(confidence));
  $("#auto-meter").style.width = `${100 * (confidence ?? 0)}%`;
  setText("#auto-model", auto ? `by model ${auto.model_version ?? "?"} · ${fmtTime(auto.created_at)}` : "–");
  bench.pad.mark(auto ? String(auto.value) : null, "current");
  const accept = $("#accept");
  accept.replaceChildren(
    auto ? `Accept “${auto.value}” ` : "Accept ",
    el("kbd", {}, "Enter"),
    " ",
    el("kbd", {}, "A"),
  );
}

function onState(state) {
  $("#accept").disabled = state !== "ready" || !bench?.served?.current;
  $("#review-panel").hidden = state === "forbidden";
}

function onEmpty() {
  return bench.emptyMessage(
    "No auto-labels are waiting for review.",
    "The model auto-labels an image when its confidence reaches the project's threshold; those appear here after each training round.",
    el("a", { class: "button", href: "/label" }, "Label images"),
    el("a", { class: "button", href: "/dashboard" }, "Dashboard"),
  );
}

function onAnswered(out, value) {
  reviewed += 1;
  setText("#reviewed-count", `${fmtInt(reviewed)} reviewed this session`);
  const verb = out.event.action === "accept" ? "Accepted" : "Corrected to";
  notify(`${verb} “${value}” on item #${out.event.item_id}.`, out.event.action === "accept" ? "ok" : "info", 2000);
}

function accept() {
  const auto = bench.served?.current;
  if (auto && bench.state === "ready") bench.answer(auto.value);
}

function onKey(key, event) {
  if (!event.repeat && (key === "Enter" || key === "a" || key === "A") && bench.state === "ready") {
    accept();
    return true;
  }
  return bench.key(key, event);
}

async function main() {
  const { project } = await startPage("review");
  bench = new Workbench({ kind: "review", classes: project.classes, onServed, onEmpty, onAnswered, onState });
  bench.progress.update(project.progress);
  const threshold = project.config.auto_label_threshold;
  setText("#threshold", threshold == null
    ? "Auto-labeling is off for this project."
    : `Images are auto-labeled at confidence ≥ ${threshold}; the least confident come first.`);
  $("#accept").addEventListener("click", (event) => {
    if (event.detail > 0) event.currentTarget.blur();
    accept();
  });
  bindKeys(onKey);
  every(5000, async () => renderTraining($("#training"), await api("/api/training")));
  await bench.loadNext();
}

main().catch(failPage);
