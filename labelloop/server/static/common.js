// Shared by every signed-in page: API calls with the session's CSRF token, the
// header, passing notices, the progress bar, and formatting.

let csrfToken = null;
// Server clock minus ours, from the Date header, so lease countdowns stay
// right on a machine whose clock is off. Only trusted past a few seconds,
// since the header has one-second resolution.
let clockSkewMs = 0;

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

function describeDetail(detail) {
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const where = (d.loc || []).slice(1).join(".");
        return where ? `${where}: ${d.msg}` : d.msg;
      })
      .join("; ");
  }
  return typeof detail === "string" ? detail : JSON.stringify(detail);
}

export function toLogin() {
  const next = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const date = Date.parse(response.headers.get("Date") || "");
  if (!Number.isNaN(date)) {
    const skew = date - Date.now();
    clockSkewMs = Math.abs(skew) > 3000 ? skew : 0;
  }
  if (response.status === 401 && path !== "/api/auth/login") {
    toLogin();
    throw new ApiError(401, "not signed in");
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const data = await response.json();
      if (data && data.detail !== undefined) detail = describeDetail(data.detail);
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, detail);
  }
  return response.status === 204 ? null : response.json();
}

export function serverNow() {
  return Date.now() + clockSkewMs;
}

export function canReview(user) {
  return user.role === "reviewer" || user.role === "admin";
}

// DOM -------------------------------------------------------------------------

// Build an element; strings become text nodes, so names from the data are never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// Point an <img> at an item's image; resolves to whether it loaded.
function loadItemImage(img, item) {
  img.alt = `item ${item.id}`;
  return new Promise((resolve) => {
    img.onload = () => resolve(true);
    img.onerror = () => resolve(false);
    img.src = item.image_url;
  });
}

// An item's image on a stage (``root``), or a message in its place: what the
// labeling views' image stage and the box editor share. ``content`` is what
// holds ``img`` on the stage; a subclass sets ``zoom`` and sizes it in ``layout()``.
export class StageView {
  constructor(root, zoomLabel, img, content = img) {
    this.root = root;
    this.zoomLabel = zoomLabel;
    this.img = img;
    this.content = content;
    this.item = null;
    this.zoom = 1;
  }

  // Show an item's image; resolves to whether it loaded.
  show(item) {
    this.item = item;
    this.root.replaceChildren(this.content);
    this.layout();
    return loadItemImage(this.img, item);
  }

  message(...children) {
    this.item = null;
    this.root.replaceChildren(el("div", { class: "stage-empty" }, ...children));
  }

  updateZoomLabel() {
    if (this.zoomLabel) this.zoomLabel.textContent = `${Math.round(this.zoom * 100)}%`;
  }
}

export function setText(selector, value) {
  const node = typeof selector === "string" ? $(selector) : selector;
  if (node) node.textContent = value;
}

// notices ---------------------------------------------------------------------

export function notify(message, kind = "info", ms = 3500) {
  let box = $("#notices");
  if (!box) {
    box = el("div", { id: "notices", class: "notices", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const note = el("div", { class: `notice ${kind}`, text: message });
  box.append(note);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => note.remove(), ms);
}

// session and header ------------------------------------------------------------

const NAV = [
  ["label", "/label", "Label"],
  ["review", "/review", "Review"],
  ["dashboard", "/dashboard", "Dashboard"],
  ["data", "/data", "Data"],
  ["settings", "/settings", "Settings"],
  ["users", "/users", "People"],
];

// Who sees which page in the navigation.
function navAllowed(key, user) {
  if (key === "review" || key === "data") return canReview(user);
  if (key === "settings" || key === "users") return user.role === "admin";
  return true;
}

function renderHeader(user, project, active) {
  const header = $("#app-header");
  const nav = el(
    "nav",
    { class: "app-nav", "aria-label": "Main" },
    NAV.filter(([key]) => navAllowed(key, user)).map(([key, href, title]) =>
      el("a", { href, "aria-current": key === active ? "page" : null, dataset: { nav: key } }, title),
    ),
  );
  const logout = el("button", { class: "ghost small", type: "button", id: "logout" }, "Log out");
  logout.addEventListener("click", async () => {
    try {
      await api("/api/auth/logout", { method: "POST" });
    } finally {
      location.assign("/login");
    }
  });
  header.replaceChildren(
    el(
      "div",
      { class: "brand" },
      el("a", { class: "brand-mark", href: "/label" }, "labelloop"),
      el("span", { class: "brand-project", id: "project-name", title: project.name }, project.name),
    ),
    nav,
    el(
      "div",
      { class: "app-user" },
      el("span", { class: "who", id: "user-name" }, user.username),
      el("span", { class: "role-badge", id: "user-role" }, user.role),
      logout,
    ),
  );
}

// Check the session (to /login when there is none), then draw the header.
export async function startPage(active) {
  const me = await api("/api/auth/me");
  csrfToken = me.csrf_token;
  const project = await api("/api/project");
  renderHeader(me.user, project, active);
  document.title = `${document.title} · ${project.name}`;
  if ((active === "label" || active === "review") && project.config.instructions) {
    showInstructions().catch(() => {}); // the page works without them
  }
  return { user: me.user, project };
}

// The project's labeling instructions (Markdown the server renders, raw HTML
// escaped) at the top of the side panel, open until the person folds them.
async function showInstructions() {
  const side = document.querySelector("aside.stack");
  if (!side) return;
  const found = await api("/api/project/instructions");
  const body = el("div", { class: "instructions", id: "instructions" });
  body.innerHTML = found.html; // rendered by markdown-it with HTML off: no markup of the author's runs
  const folded = localStorage.getItem("labelloop.instructions.folded") === "1";
  const details = el("details", { open: !folded }, el("summary", {}, "Instructions"), body);
  details.addEventListener("toggle", () => {
    localStorage.setItem("labelloop.instructions.folded", details.open ? "0" : "1");
  });
  side.prepend(el("section", { class: "card", id: "instructions-card" }, details));
}

// Show what went wrong at start-up in place of the page.
export function failPage(error) {
  if (error instanceof ApiError && error.status === 401) return;
  const main = $("main");
  main.replaceChildren(
    el("div", { class: "alert error", role: "alert" }, `Could not load the page: ${error.message}`),
  );
}

// progress bar ------------------------------------------------------------------

export class ProgressBar {
  constructor(root) {
    this.human = el("span", { class: "progress-human" });
    this.auto = el("span", { class: "progress-auto" });
    this.counts = {};
    const count = (key) => (this.counts[key] = el("b", { class: "num", dataset: { count: key } }, "–"));
    root.replaceChildren(
      el("div", { class: "progress" },
        el("div", {
          class: "progress-track",
          role: "progressbar",
          "aria-label": "Labeling progress",
          "aria-valuemin": 0,
          "aria-valuemax": 100,
        }, this.human, this.auto),
        el("div", { class: "progress-legend" },
          el("span", {}, el("span", { class: "swatch progress-human" }), count("labeled"), " labeled"),
          el("span", {}, el("span", { class: "swatch progress-auto" }), count("auto_labeled"), " auto"),
          el("span", {}, count("unlabeled"), " unlabeled"),
          el("span", {}, count("items"), " total"),
        ),
      ),
    );
    this.track = root.querySelector(".progress-track");
  }

  update(progress) {
    const total = progress.items || 0;
    const share = (n) => (total ? (100 * n) / total : 0);
    this.human.style.width = `${share(progress.labeled)}%`;
    this.auto.style.width = `${share(progress.auto_labeled)}%`;
    this.track.setAttribute("aria-valuenow", share(progress.labeled + progress.auto_labeled).toFixed(1));
    this.track.title = `${fmtPct(progress.labeled / (total || 1))} labeled by people, ${fmtPct(progress.auto_labeled / (total || 1))} auto-labeled`;
    for (const [key, node] of Object.entries(this.counts)) node.textContent = fmtInt(progress[key] ?? 0);
  }
}

// formatting ---------------------------------------------------------------------

// The API writes some times without a zone; they are UTC.
export function parseTime(iso) {
  if (!iso) return null;
  const zoned = /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? null : new Date(ms);
}

export function fmtTime(iso) {
  const when = parseTime(iso);
  if (!when) return "—";
  const sameDay = when.toDateString() === new Date().toDateString();
  return sameDay
    ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export function fmtAgo(iso) {
  const when = parseTime(iso);
  if (!when) return "—";
  const s = Math.max(0, (serverNow() - when.getTime()) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function fmtInt(n) {
  return n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US");
}

export function fmtPct(x, digits = 1) {
  return x === null || x === undefined ? "—" : `${(100 * x).toFixed(digits)}%`;
}

export function fmtNum(x, digits = 3) {
  return x === null || x === undefined ? "—" : Number(x).toFixed(digits);
}

export function fmtValue(value) {
  if (value === null || value === undefined) return "(none)";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

// Run ``work`` now and every ``ms`` while the tab is visible, never two at once.
// Returns a function that asks for a run now (after the current one, if busy).
export function every(ms, work) {
  let timer = null;
  let running = false;
  let again = false;
  const tick = async () => {
    clearTimeout(timer);
    if (running) {
      again = true;
      return;
    }
    if (document.visibilityState === "visible") {
      running = true;
      try {
        await work();
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 401)) console.warn(error);
      } finally {
        running = false;
      }
    }
    clearTimeout(timer);
    timer = setTimeout(tick, again ? 0 : ms);
    again = false;
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") tick();
  });
  tick();
  return tick;
}
