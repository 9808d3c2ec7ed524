// Settings for admins: every setting with its meaning, default and when a change applies,
// over the same API (and validation, and history) as `labelloop config --set`.

import { $, ApiError, api, el, failPage, notify, startPage } from "/static/common.js";

let schema = [];

function inputFor(setting) {
  const id = `setting-${setting.key.replaceAll(".", "-")}`;
  const attrs = { id, name: setting.key, dataset: { key: setting.key, kind: setting.kind }, disabled: setting.fixed };
  if (setting.kind === "bool") {
    return el("input", { ...attrs, type: "checkbox", checked: Boolean(setting.value) });
  }
  if (setting.kind === "choice") {
    const select = el("select", attrs, setting.choices.map((c) =>
      el("option", { value: JSON.stringify(c), selected: JSON.stringify(c) === JSON.stringify(setting.value) }, c === null ? "(none)" : String(c)),
    ));
    return select;
  }
  if (setting.kind === "number") {
    return el("input", {
      ...attrs, type: "text", inputmode: "decimal",
      value: setting.value === null ? "" : String(setting.value),
      placeholder: setting.nullable ? "empty: none" : "",
    });
  }
  if (setting.kind === "text" && setting.key !== "instructions") {
    return el("input", {
      ...attrs, type: "text", value: setting.value ?? "",
      placeholder: setting.nullable ? "empty: none" : "",
    });
  }
  const text = setting.kind === "text" ? setting.value ?? "" : JSON.stringify(setting.value);
  return el("textarea", { ...attrs, rows: setting.key === "instructions" ? 6 : 2 }, text);
}

function valueOf(input, setting) {
  if (setting.kind === "bool") return input.checked;
  if (setting.kind === "choice") return JSON.parse(input.value);
  const raw = input.value.trim();
  if (setting.kind === "number") {
    if (raw === "" && setting.nullable) return null;
    const number = Number(raw);
    if (raw === "" || Number.isNaN(number)) throw new Error(`${setting.key}: "${raw}" is not a number`);
    return number;
  }
  if (setting.kind === "text") return input.value === "" && setting.nullable ? null : input.value;
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`${setting.key}: "${raw}" is not valid JSON`);
  }
}

function describe(setting) {
  const bounds = [];
  if (setting.minimum !== undefined) bounds.push(`from ${setting.minimum}`);
  if (setting.maximum !== undefined) bounds.push(`to ${setting.maximum}`);
  return [
    setting.help,
    `Default: ${JSON.stringify(setting.default)}${bounds.length ? ` (${bounds.join(" ")})` : ""}.`,
    setting.fixed ? "Fixed when the project was created." : `Takes effect ${setting.effect}.`,
  ].filter(Boolean).join(" ");
}

function render() {
  const groups = new Map();
  for (const setting of schema) {
    const group = setting.key.includes(".") ? setting.key.split(".")[0] : "project";
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(setting);
  }
  $("#settings-fields").replaceChildren(...[...groups].map(([group, settings]) =>
    el("section", { class: "card settings-group", dataset: { group } },
      el("h2", {}, group),
      settings.map((setting) =>
        el("div", { class: "setting", dataset: { setting: setting.key } },
          el("label", { for: `setting-${setting.key.replaceAll(".", "-")}` }, el("code", {}, setting.key)),
          inputFor(setting),
          el("div", { class: "hint" }, describe(setting)),
        ),
      ),
    ),
  ));
}

async function loadHistory() {
  const rows = await api("/api/project/settings/history");
  $("#settings-history tbody").replaceChildren(...rows.slice().reverse().map((row) =>
    el("tr", {},
      el("td", {}, row.at), el("td", {}, row.who), el("td", {}, el("code", {}, row.key)),
      el("td", {}, JSON.stringify(row.old)), el("td", {}, JSON.stringify(row.new)), el("td", {}, row.note),
    ),
  ));
}

async function save(event) {
  event.preventDefault();
  const error = $("#settings-error");
  error.hidden = true;
  const changed = {};
  try {
    for (const setting of schema) {
      if (setting.fixed) continue;
      const input = document.querySelector(`[data-key="${setting.key}"]`);
      const value = valueOf(input, setting);
      if (JSON.stringify(value) !== JSON.stringify(setting.value)) changed[setting.key] = value;
    }
  } catch (problem) {
    error.textContent = problem.message;
    error.hidden = false;
    return;
  }
  if (!Object.keys(changed).length) {
    notify("Nothing changed.");
    return;
  }
  try {
    const out = await api("/api/project/settings", { method: "PATCH", body: changed });
    $("#settings-changes").replaceChildren(...out.changes.map((c) =>
      el("li", { dataset: { changed: c.key } },
        el("code", {}, c.key), `: ${JSON.stringify(c.old)} → ${JSON.stringify(c.new)}, takes effect ${c.effect}`),
    ));
    $("#settings-result").hidden = false;
    notify(`Saved ${out.changes.length} change(s).`, "ok");
    schema = await api("/api/project/settings/schema");
    render();
    await loadHistory();
  } catch (problem) {
    error.textContent = problem instanceof ApiError ? `Not saved: ${problem.detail}` : `Not saved: ${problem.message}`;
    error.hidden = false;
  }
}

async function main() {
  await startPage("settings");
  schema = await api("/api/project/settings/schema");
  render();
  $("#settings-form").addEventListener("submit", save);
  await loadHistory();
}

main().catch(failPage);
