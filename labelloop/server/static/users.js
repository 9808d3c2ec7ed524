// People, for admins: add accounts, change roles, disable or enable, set new passwords.

import { $, ApiError, api, el, failPage, notify, startPage } from "/static/common.js";

const ROLES = ["annotator", "reviewer", "admin"];

function showError(problem) {
  const box = $("#users-error");
  box.textContent = problem instanceof ApiError ? problem.detail : problem.message;
  box.hidden = false;
}

async function change(username, body, done) {
  $("#users-error").hidden = true;
  try {
    await api(`/api/users/${encodeURIComponent(username)}`, { method: "PATCH", body });
    notify(done, "ok");
  } catch (problem) {
    showError(problem);
  }
  await load();
}

function row(user, me) {
  const role = el("select", { "aria-label": `role of ${user.username}`, dataset: { roleOf: user.username } },
    ROLES.map((r) => el("option", { value: r, selected: r === user.role }, r)));
  role.addEventListener("change", () => change(user.username, { role: role.value }, `${user.username} is now ${role.value}.`));
  const toggle = el("button", { type: "button", class: "small", dataset: { toggle: user.username } }, user.active ? "Disable" : "Enable");
  toggle.addEventListener("click", () =>
    change(user.username, { active: !user.active }, `${user.username} ${user.active ? "disabled" : "enabled"}.`));
  const reset = el("button", { type: "button", class: "small", dataset: { reset: user.username } }, "New password");
  reset.addEventListener("click", () => {
    const password = prompt(`New password for ${user.username} (8 characters or more):`);
    if (password) change(user.username, { password }, `New password set for ${user.username}; their sessions ended.`);
  });
  return el("tr", { dataset: { user: user.username } },
    el("td", {}, user.username, user.username === me.username ? " (you)" : ""),
    el("td", {}, role),
    el("td", { dataset: { active: String(user.active) } }, user.active ? "yes" : "no"),
    el("td", { class: "actions" }, toggle, reset),
  );
}

let me = null;

async function load() {
  const users = await api("/api/users");
  $("#users-table tbody").replaceChildren(...users.map((u) => row(u, me)));
}

async function add(event) {
  event.preventDefault();
  $("#users-error").hidden = true;
  const form = event.target;
  try {
    await api("/api/users", {
      method: "POST",
      body: { username: form.username.value.trim(), role: form.role.value, password: form.password.value },
    });
    notify(`Added ${form.username.value.trim()}.`, "ok");
    form.reset();
  } catch (problem) {
    showError(problem);
  }
  await load();
}

async function main() {
  ({ user: me } = await startPage("users"));
  $("#add-user").addEventListener("submit", add);
  await load();
}

main().catch(failPage);
