// The dashboard: progress, labels over time, the learning curve, class balance,
// the model, training, auto-label precision, data health (stopping, drift,
// outliers, label errors), annotators and exports. Two API calls per refresh,
// every few seconds while the tab is visible.

import {
  $, ApiError, ProgressBar, api, canReview, el, every, failPage, fmtAgo, fmtDuration, fmtInt, fmtNum, fmtPct,
  fmtTime, fmtValue, notify, parseTime, setText, startPage,
} from "/static/common.js";
import { legend, lineChart, sourceColor, stackedBars } from "/static/charts.js";
import { renderTraining } from "/static/workbench.js";

const REFRESH_MS = 5000;
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const MAX_BUCKETS = 120;
const SOURCE_ORDER = ["human", "auto", "import"];

let project = null;
let user = null;
let progressBar = null;
let refresh = null;

function sortSources(sources) {
  return [...sources].sort((a, b) => {
    const ia = SOURCE_ORDER.indexOf(a);
    const ib = SOURCE_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
}

function renderCounts(progress) {
  for (const node of document.querySelectorAll("[data-stat]")) {
    node.textContent = fmtInt(progress[node.dataset.stat]);
  }
  for (const node of document.querySelectorAll("[data-share]")) {
    node.textContent = `${fmtPct(progress.items ? progress[node.dataset.share] / progress.items : 0)} of items`;
  }
  progressBar.update(progress);
}

// Hourly counts become bars per hour, or per day once they span more than a few days.
function renderTime(rows) {
  const root = $("#chart-time");
  const times = rows.map((r) => parseTime(r.hour).getTime());
  if (!times.length) {
    stackedBars(root, { buckets: [], series: [], empty: "No labels yet." });
    return;
  }
  const first = Math.min(...times);
  const last = Math.max(...times);
  const unit = last - first > 3 * DAY ? DAY : HOUR;
  const start = Math.max(Math.floor(first / unit) * unit, Math.floor(last / unit) * unit - (MAX_BUCKETS - 1) * unit);
  const n = Math.floor((last - start) / unit) + 1;
  const sources = sortSources(new Set(rows.map((r) => r.source)));
  const values = Object.fromEntries(sources.map((s) => [s, new Array(n).fill(0)]));
  rows.forEach((row, i) => {
    const at = Math.floor((times[i] - start) / unit);
    if (at >= 0) values[row.source][at] += row.count;
  });
  const buckets = Array.from({ length: n }, (_, i) => {
    const when = new Date(start + i * unit);
    return unit === DAY
      ? when.toLocaleDateString([], { month: "short", day: "numeric" })
      : when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  });
  setText("#time-unit", `per ${unit === DAY ? "day" : "hour"}, by source`);
  stackedBars(root, {
    buckets,
    series: sources.map((s, i) => ({ name: s, color: sourceColor(s, i), values: values[s] })),
    yLabel: "labels",
  });
}

function renderCurve(curve) {
  const point = (r, key) => ({
    x: r.n_labeled ?? 0,
    y: r[key],
    title: `round ${r.round}: ${fmtInt(r.n_labeled)} labels, accuracy ${fmtNum(r.accuracy)}, macro-F1 ${fmtNum(r.macro_f1)}, ECE ${fmtNum(r.ece)} (${r.strategy})`,
  });
  lineChart($("#chart-curve"), {
    series: [
      { name: "accuracy", color: "#2c66d1", points: curve.map((r) => point(r, "accuracy")) },
      { name: "macro-F1", color: "#2f8a57", points: curve.map((r) => point(r, "macro_f1")) },
    ],
    xLabel: "labels",
    empty: curve.length
      ? `No validation score yet: ${curve.length === 1 ? "the round so far" : `the ${curve.length} rounds so far`} had too few labels to hold some out for validation.`
      : "No trained model yet: the curve starts after the first training round.",
  });
}

function renderBalance(balance) {
  const names = [...project.classes, ...Object.keys(balance).filter((c) => !project.classes.includes(c))];
  const sources = sortSources(new Set(Object.values(balance).flatMap((bySource) => Object.keys(bySource))));
  const total = (name) => Object.values(balance[name] ?? {}).reduce((a, b) => a + b, 0);
  const most = Math.max(1, ...names.map(total));
  $("#balance").replaceChildren(
    ...names.map((name) =>
      el("div", { class: "balance-row", dataset: { class: name } },
        el("span", { class: "cls", title: name }, name),
        el("span", { class: "bar" },
          sources.map((s, i) => {
            const n = balance[name]?.[s] ?? 0;
            return n ? el("span", { style: `width:${(100 * n) / most}%;background:${sourceColor(s, i)}`, title: `${name}: ${fmtInt(n)} ${s}` }) : null;
          })),
        el("span", { class: "count" }, fmtInt(total(name))),
      )),
  );
  $("#balance-legend").replaceChildren(legend(sources.map((s, i) => ({ name: s, color: sourceColor(s, i) }))));
}

function renderModel(training) {
  const metrics = training.model_metrics ?? {};
  const validation = metrics.validation ?? {};
  setText("#model-version", training.model_version ?? "no model yet");
  for (const node of document.querySelectorAll("[data-metric]")) {
    node.textContent = fmtNum(validation[node.dataset.metric]);
  }
  // A score on a few images says how sure it is: the 95% Wilson interval.
  const interval = validation.accuracy_interval;
  setText("#accuracy-interval", interval ? `95% CI ${fmtNum(interval[0], 2)}–${fmtNum(interval[1], 2)} on ${fmtInt(validation.n)}` : "");
  const facts = [
    ["Labels when trained", fmtInt(metrics.n_labeled)],
    ["Train / validation", metrics.n_train === undefined ? "—" : `${fmtInt(metrics.n_train)} / ${fmtInt(metrics.n_val)}`],
    ["Validated on", validation.n === undefined ? "no validation labels yet" : `${fmtInt(validation.n)} images`],
  ];
  const recall = (validation.per_class_recall ?? [])
    .map((r, i) => [project.classes[i] ?? String(i), r])
    .filter(([, r]) => r !== null && r !== undefined)
    .sort((a, b) => a[1] - b[1])
    .slice(0, 3);
  if (recall.length) facts.push(["Weakest recall", recall.map(([name, r]) => `${name} (${fmtNum(r, 2)})`).join(", ")]);
  const health = metrics.model_health;
  const warning = $("#model-health");
  warning.hidden = !health?.collapsed;
  warning.textContent = health?.collapsed ? `Collapsed: ${health.summary}. The queue is ranked by the cold-start strategy meanwhile.` : "";
  if (health) facts.push(["Classes predicted on the pool", fmtInt(health.pool_classes)]);
  $("#model-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function renderTrainingCard(training) {
  renderTraining($("#training"), training);
  const button = $("#retrain");
  button.hidden = !canReview(user);
  button.disabled = training.state !== "idle";
  $("#runs tbody").replaceChildren(
    ...training.runs.map((run) => {
      const started = parseTime(run.started_at);
      const finished = parseTime(run.finished_at);
      const took = started && finished ? (finished - started) / 1000 : null;
      return el("tr", { dataset: { runId: run.id } },
        el("td", { class: "num" }, run.id),
        el("td", {}, el("span", { class: `pill ${run.status}` }, run.status === "running" ? `${run.step ?? "running"} ${fmtPct(run.progress, 0)}` : run.status)),
        el("td", {}, run.requested_by ? `${run.trigger} (${run.requested_by})` : run.trigger),
        el("td", {}, fmtTime(run.started_at)),
        el("td", { class: "num" }, fmtDuration(took)),
        el("td", { class: "muted", title: run.message ?? "" }, run.message ? run.message.slice(0, 60) : ""),
      );
    }),
  );
  if (!training.runs.length) {
    $("#runs tbody").replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No training runs yet.")));
  }
}

function renderAuto(auto) {
  setText("[data-auto=precision]", auto.precision === null ? "—" : fmtPct(auto.precision));
  setText("[data-auto=accepted]", fmtInt(auto.accepted));
  setText("[data-auto=corrected]", fmtInt(auto.corrected));
  setText("#threshold", auto.threshold === null ? "auto-labeling off" : `threshold ≥ ${auto.threshold}`);
  setText("#auto-note", auto.reviewed
    ? `Precision is the share of ${fmtInt(auto.reviewed)} reviewed auto-labels that reviewers accepted unchanged.`
    : "No auto-labels reviewed yet; precision appears once reviewers accept or correct some.");
}

function renderAnnotators(rows) {
  const body = $("#annotators tbody");
  if (!rows.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "muted" }, "Nobody has labeled yet.")));
    return;
  }
  body.replaceChildren(...rows.map((r) => el("tr", { dataset: { annotator: r.annotator } },
    el("td", {}, r.annotator),
    el("td", { class: "num" }, fmtInt(r.labels)),
    el("td", { class: "num" }, fmtDuration(r.median_seconds)),
    el("td", { title: r.last_label_at }, fmtAgo(r.last_label_at)),
  )));
}


const RULE_NAMES = {
  stabilizing_predictions: "Stable predictions (kappa)",
  validation_plateau: "Validation gain per 100 labels",
  pool_uncertainty_below: "Pool uncertainty",
};

function renderStopping(report) {
  const tbody = $("#stop-rules tbody");
  if (!report) {
    setText("#stop-decision", "–");
    tbody.replaceChildren();
    $("#chart-projection").replaceChildren();
    return;
  }
  const body = report.body;
  const decision = $("#stop-decision");
  decision.textContent = body.decision === "diminishing" ? "returns are diminishing" : "continue";
  decision.dataset.decision = body.decision;
  setText("#stop-summary", report.summary);
  tbody.replaceChildren(...body.verdicts.map((v) => el("tr", {},
    el("td", {}, RULE_NAMES[v.rule] ?? v.rule),
    el("td", { class: "num" }, v.value === null ? "n/a" : fmtNum(v.value)),
    el("td", { class: "num" }, fmtNum(v.threshold)),
    el("td", {}, v.fired ? "yes" : (v.value === null ? v.evidence.reason ?? "not yet" : "no")))));
  renderProjection(body);
}

// The fitted curve a - b n^-c through the rounds, and the projected gain of
// +100 and +1000 labels with its band.
function renderProjection(body) {
  const curve = body.curve;
  const root = $("#chart-projection");
  if (!curve || !body.projections.length) {
    root.replaceChildren(el("div", { class: "empty" }, "A projection needs four rounds with a validation score."));
    return;
  }
  const law = (n) => curve.a - curve.b * Math.pow(n, -curve.c);
  const from = body.projections[0].n_from;
  const fitted = [];
  for (let n = Math.max(1, Math.round(from / 4)); n <= from; n += Math.max(1, Math.round(from / 12))) {
    fitted.push({ x: n, y: law(n), title: `${fmtInt(n)} labels: ${fmtNum(law(n))} fitted` });
  }
  const at = (p, key) => ({ x: p.n_from + p.extra, y: law(p.n_from) + p[key], title: `+${p.extra} labels: ${key} ${fmtPct(p[key])}` });
  const start = { x: from, y: law(from), title: `now: ${fmtInt(from)} labels` };
  lineChart(root, {
    series: [
      { name: "fitted", color: "#2c66d1", points: fitted },
      { name: "projected", color: "#b5562a", points: [start, ...body.projections.map((p) => at(p, "gain"))] },
      { name: "band (high)", color: "#d9a38a", points: [start, ...body.projections.map((p) => at(p, "high"))] },
      { name: "band (low)", color: "#d9a38a", points: [start, ...body.projections.map((p) => at(p, "low"))] },
    ],
    xLabel: "labels",
    empty: "",
  });
}

function renderDrift(history, concept) {
  const alpha = history.length ? history[history.length - 1].alpha : null;
  setText("#drift-alpha", alpha === null ? "p-value per import batch" : `p-value per import batch (alert below ${alpha})`);
  lineChart($("#chart-drift"), {
    series: [
      {
        name: "p-value",
        color: "#7a4fc4",
        points: history.map((h, i) => ({ x: i + 1, y: h.p_value, title: `${h.batch}: p=${fmtNum(h.p_value)}${h.drifted ? " (drift)" : ""}` })),
      },
      { name: "alpha", color: "#c0392b", points: history.length ? [{ x: 1, y: alpha, title: "alpha" }, { x: Math.max(2, history.length), y: alpha, title: "alpha" }] : [] },
    ],
    xLabel: "batch",
    empty: "No import batch has been tested yet.",
  });
  const drifted = history.filter((h) => h.drifted).length;
  setText("#drift-summary", history.length ? `${drifted} of ${history.length} batches drifted.` : "");
  setText("#concept-summary", concept ? concept.summary : "No label has been compared with a prediction yet.");
}

function itemLink(flag) {
  return el("a", { href: `/history?item=${flag.item_id}` }, flag.item_name);
}

function dismissButton(flag) {
  if (!canReview(user)) return "";
  const button = el("button", { type: "button", class: "ghost small" }, "Dismiss");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/api/monitor/flags/${flag.kind}/${flag.item_id}/dismiss`, { method: "POST" });
      notify(`Flag on ${flag.item_name} dismissed.`, "ok");
    } catch (error) {
      notify(`Could not dismiss: ${error.message}`, "warn");
    }
    refresh();
  });
  return button;
}

function renderFlags(outliers, labelErrors) {
  setText("#outlier-count", `${outliers.length} open`);
  $("#outlier-queue tbody").replaceChildren(...(outliers.length ? outliers.map((f) => el("tr", {},
    el("td", {}, itemLink(f)),
    el("td", { class: "num" }, fmtNum(f.score)),
    el("td", {}, f.detail?.batch ?? ""),
    el("td", {}, dismissButton(f)))) : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No open outliers."))]));
  $("#label-error-queue tbody").replaceChildren(...(labelErrors.length ? labelErrors.map((f) => el("tr", {},
    el("td", {}, itemLink(f)),
    el("td", {}, fmtValue(f.detail?.given)),
    el("td", {}, fmtValue(f.detail?.suggested)),
    el("td", { class: "num" }, fmtNum(f.score)),
    el("td", {}, dismissButton(f)))) : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No labels flagged."))]));
}

async function loadHealth() {
  const [overview, outliers, labelErrors] = await Promise.all([
    api("/api/monitor"),
    api("/api/monitor/flags?kind=outlier&limit=50"),
    api("/api/monitor/flags?kind=label_error&limit=50"),
  ]);
  renderStopping(overview.latest.stopping);
  renderDrift(overview.drift_history, overview.latest.concept_drift);
  renderFlags(outliers, labelErrors);
}

const LABEL_ERROR_POLL_MS = 1000;

// The search runs on the server in the background (a cross-validated fit):
// the POST answers at once with a job, which is polled until it ends.
async function findLabelErrors() {
  const button = $("#find-label-errors");
  const idle = button.textContent;
  button.disabled = true;
  try {
    let job = await api("/api/monitor/label-errors", { method: "POST" });
    while (job.state === "running") {
      button.textContent = `Looking\u2026 ${Math.round(job.progress * 100)}%`;
      await new Promise((resolve) => setTimeout(resolve, LABEL_ERROR_POLL_MS));
      job = await api(`/api/monitor/label-errors/${job.id}`);
    }
    if (job.state === "done") notify(job.summary, "ok");
    else notify(`Could not check labels: ${job.message}`, "warn");
  } catch (error) {
    notify(error instanceof ApiError && error.status === 409 ? error.message : `Could not check labels: ${error.message}`, "warn");
  } finally {
    button.textContent = idle;
    button.disabled = false;
  }
  refresh();
}

async function load() {
  const data = await api("/api/dashboard");
  renderCounts(data.progress);
  renderTime(data.labels_over_time);
  renderCurve(data.learning_curve);
  renderBalance(data.class_balance);
  renderModel(data.training);
  renderTrainingCard(data.training);
  renderAuto(data.auto_labels);
  renderAnnotators(data.annotators);
  await loadHealth();
  $("#dashboard").dataset.state = "ready";
  setText("#updated", `Updated ${new Date().toLocaleTimeString()} · refreshes every ${REFRESH_MS / 1000} s`);
}

async function retrain() {
  const button = $("#retrain");
  button.disabled = true;
  try {
    const run = await api("/api/training", { method: "POST" });
    notify(`Training run ${run.id} started.`, "ok");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    notify(error instanceof ApiError && error.status === 409 ? "A training run is already running." : `Could not start training: ${error.message}`, "warn");
  }
  refresh();
}

function wireExports() {
  // Exports are a reviewer's right unless the project opens them to annotators.
  if (!canReview(user) && !project.config.team?.annotators_export) {
    $("#export-card").hidden = true;
    return;
  }
  const input = $("#snapshot");
  const auto = $("#include-auto");
  const formats = project.task === "detection"
    ? [["csv", "CSV"], ["json", "JSON"], ["coco", "COCO (zip)"], ["yolo", "YOLO (zip)"], ["voc", "Pascal VOC (zip)"], ["labelstudio", "Label Studio (zip)"]]
    : [["csv", "CSV"], ["json", "JSON"], ["imagefolder", "ImageFolder (zip)"]];
  $("#exports").replaceChildren(...formats.map(([format, title]) =>
    el("a", { class: "button", id: `export-${format}`, download: true }, title)));
  const update = () => {
    const snapshot = input.value.trim();
    for (const [format] of formats) {
      const query = new URLSearchParams({ format });
      if (/^\d+$/.test(snapshot)) query.set("snapshot", snapshot);
      if (auto.checked && format !== "imagefolder") query.set("include_auto", "true");
      $(`#export-${format}`).href = `/api/export?${query}`;
    }
  };
  input.addEventListener("input", update);
  auto.addEventListener("change", update);
  update();
}

async function main() {
  ({ user, project } = await startPage("dashboard"));
  progressBar = new ProgressBar($("#progress"));
  $("#retrain").addEventListener("click", retrain);
  $("#find-label-errors").hidden = !canReview(user);
  $("#find-label-errors").addEventListener("click", findLabelErrors);
  wireExports();
  refresh = every(REFRESH_MS, async () => {
    try {
      await load();
    } catch (error) {
      setText("#updated", `Could not refresh: ${error.message}`);
      throw error;
    }
  });
}

main().catch(failPage);
