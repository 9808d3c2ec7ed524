// The parts the labeling and review views share: the lease loop (next item,
// answer, skip, expiry), the zoomable image stage, the class buttons and their
// number keys, the lease countdown, the keyboard, and the training status line.

import {
  $, ApiError, ProgressBar, StageView, api, canReview, el, fmtInt, fmtPct, notify, parseTime, serverNow,
  setText,
} from "/static/common.js";

const ZOOMS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4];
const ZOOM_KEY = "labelloop.zoom";
const DIGIT_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];

// Which number key picks which class. A class named by a single digit gets
// that digit ("0".."9" in the digits demo); the other classes take the digit
// keys left over, in order 1..9, 0. Classes past ten have buttons only.
export function classKeys(classes) {
  const keyOf = new Map();
  const used = new Set();
  for (const name of classes) {
    if (DIGIT_KEYS.includes(name) && !used.has(name)) {
      keyOf.set(name, name);
      used.add(name);
    }
  }
  const free = DIGIT_KEYS.filter((k) => !used.has(k));
  for (const name of classes) {
    if (!keyOf.has(name) && free.length) keyOf.set(name, free.shift());
  }
  const classOf = new Map([...keyOf].map(([name, key]) => [key, name]));
  return { keyOf, classOf };
}

export class ClassPad {
  constructor(root, classes, onPick) {
    const { keyOf, classOf } = classKeys(classes);
    this.classOf = classOf;
    this.buttons = new Map();
    root.classList.toggle("compact", classes.length <= 10 && classes.every((name) => name.length <= 3));
    root.replaceChildren(
      ...classes.map((name) => {
        const key = keyOf.get(name);
        const button = el(
          "button",
          {
            type: "button",
            title: key ? `${name} (key ${key})` : name,
            dataset: { class: name },
            onclick: (event) => {
              if (event.detail > 0) button.blur();
              onPick(name);
            },
          },
          el("span", { class: "name" }, name),
          key ? el("kbd", {}, key) : null,
        );
        this.buttons.set(name, button);
        return button;
      }),
    );
  }

  classForKey(key) {
    return this.classOf.get(key);
  }

  // Put ``cls`` on the button of ``name`` only (or on none).
  mark(name, cls) {
    for (const [buttonName, button] of this.buttons) button.classList.toggle(cls, buttonName === name);
  }

  setEnabled(enabled) {
    for (const button of this.buttons.values()) button.disabled = !enabled;
  }
}

// The image, scaled to fill the stage; small images are blown up with whole
// pixels kept square and sharp.
export class ImageStage extends StageView {
  constructor(stage, zoomLabel) {
    super(stage, zoomLabel, el("img", { alt: "", draggable: "false", id: "item-image" }));
    const saved = Number(localStorage.getItem(ZOOM_KEY));
    this.zoom = ZOOMS.includes(saved) ? saved : 1;
    new ResizeObserver(() => this.layout()).observe(stage);
    this.updateZoomLabel();
  }

  layout() {
    if (!this.item) return;
    const { width, height } = this.item;
    const room = Math.min(this.root.clientWidth, this.root.clientHeight) * 0.9;
    let scale = (room / Math.max(width, height)) * this.zoom;
    const blownUp = scale >= 2;
    if (blownUp) scale = Math.floor(scale);
    this.img.classList.toggle("pixelated", blownUp);
    this.img.style.width = `${Math.max(1, Math.round(width * scale))}px`;
    this.img.style.height = `${Math.max(1, Math.round(height * scale))}px`;
  }

  zoomBy(steps) {
    const at = ZOOMS.indexOf(this.zoom);
    this.zoom = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, at + steps))];
    localStorage.setItem(ZOOM_KEY, String(this.zoom));
    this.updateZoomLabel();
    this.layout();
  }
}

// Counts down to the lease's end; calls ``onExpire`` once when it passes.
export class LeaseTimer {
  constructor(node, onExpire) {
    this.node = node;
    this.onExpire = onExpire;
    this.timer = null;
  }

  start(expiresAt) {
    this.stop();
    this.end = parseTime(expiresAt)?.getTime() ?? null;
    if (this.end === null) return;
    const tick = () => {
      const left = Math.max(0, Math.round((this.end - serverNow()) / 1000));
      const mm = Math.floor(left / 60);
      const ss = String(left % 60).padStart(2, "0");
      this.node.textContent = left > 0 ? `Reserved for you for ${mm}:${ss}` : "Reservation expired";
      this.node.className = left === 0 ? "expired" : left < 60 ? "expiring" : "";
      if (left === 0) {
        this.stop();
        this.onExpire();
      }
    };
    tick();
    this.timer = setInterval(tick, 1000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  clear() {
    this.stop();
    this.node.textContent = "";
  }
}

// Keys reach ``handle(key, event)`` wherever the focus is, except in text
// fields and with modifier keys (browser shortcuts keep working). ``handle``
// returns true when it used the key.
export function bindKeys(handle) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const target = event.target;
    if (target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]")) return;
    if (handle(event.key, event)) event.preventDefault();
  });
}

// The zoom keys, shared by both views.
export function zoomKey(stage, key) {
  if (key === "+" || key === "=") stage.zoomBy(1);
  else if (key === "-" || key === "_") stage.zoomBy(-1);
  else return false;
  return true;
}

// The training state in a line, for the side panels.
export function renderTraining(root, training) {
  const latest = training.runs[0];
  // Queued: waiting for a worker process to take it (several server processes).
  const running = training.state !== "idle";
  const failed = !running && latest && latest.status === "failed";
  const model = training.model_version ? `model ${training.model_version}` : "no model yet";
  const lines = [];
  if (running) {
    lines.push(
      el("div", { class: "training-line", dataset: { trainingState: "running" } },
        el("span", { class: "dot running" }),
        el("strong", {}, training.state === "queued" ? "Training queued" : "Training"),
        el("span", { class: "muted" }, `${latest?.step ?? ""} ${fmtPct(latest?.progress ?? 0, 0)}`),
      ),
      el("div", { class: "mini-progress" }, el("span", { style: `width:${100 * (latest?.progress ?? 0)}%` })),
      el("div", { class: "hint" }, training.model_version ? `${model} serves until the new one is ready.` : "The first model is on its way."),
    );
  } else {
    const left = Math.max(0, training.retrain_every - training.labels_since_last_run);
    lines.push(
      el("div", { class: "training-line", dataset: { trainingState: "idle" } },
        el("span", { class: failed ? "dot failed" : "dot idle" }),
        el("strong", { class: "training-model" }, model),
        el("span", { class: "muted" }, "· idle"),
      ),
      el("div", { class: "hint" }, `Retrains after ${left} more label${left === 1 ? "" : "s"}.`),
    );
    if (failed) lines.push(el("div", { class: "alert error" }, `Last run failed: ${latest.message ?? "unknown error"}`));
  }
  root.replaceChildren(...lines);
}

const EMPTY_POLL_MS = 15000;

// The link to the review queue, for a user who may review and has auto labels waiting; else null.
export function reviewLink(user, progress) {
  return canReview(user) && progress.auto_labeled > 0
    ? el("a", { class: "button", href: "/review" }, `Review ${fmtInt(progress.auto_labeled)} auto-labels`)
    : null;
}

// One leased item at a time: fetch it, show it, answer or skip it, fetch the
// next. ``kind`` is "label" or "review"; the hooks add what each view shows:
// ``onServed(served)``, ``onEmpty(progress)`` (returns the empty-queue
// message's parts) and ``onAnswered(out, value)``.
export class Workbench {
  constructor({ kind, classes, onServed = () => {}, onEmpty, onAnswered = () => {}, onState = () => {} }) {
    this.nextUrl = kind === "label" ? "/api/queue/next" : "/api/review/next";
    this.answerUrl = kind === "label" ? "/api/labels" : "/api/review";
    this.hooks = { onServed, onEmpty, onAnswered, onState };
    this.bench = $("#workbench");
    this.stage = new ImageStage($("#stage"), $("#zoom-level"));
    this.lease = new LeaseTimer($("#lease"), () => this.expired());
    this.progress = new ProgressBar($("#progress"));
    this.pad = new ClassPad($("#class-pad"), classes, (name) => this.answer(name));
    this.served = null;
    this.busy = false;
    this.pending = Promise.resolve();
    this.emptyTimer = null;
    $("#skip").addEventListener("click", () => this.skip());
    $("#zoom-in").addEventListener("click", () => this.stage.zoomBy(1));
    $("#zoom-out").addEventListener("click", () => this.stage.zoomBy(-1));
  }

  get state() {
    return this.bench.dataset.state;
  }

  setState(state) {
    this.bench.dataset.state = state;
    this.pad.setEnabled(state === "ready");
    $("#skip").disabled = state !== "ready";
    this.hooks.onState(state);
  }

  showItem(served) {
    const { item } = served;
    this.bench.dataset.itemId = String(item.id);
    this.bench.dataset.leaseId = String(served.lease_id);
    setText("#item-title", `Item #${item.id}`);
    $("#item-title").title = item.name;
    setText("#item-size", `${item.width}×${item.height}`);
    const link = $("#history-link");
    link.href = `/history?item=${item.id}`;
    link.hidden = false;
    this.lease.start(served.expires_at);
  }

  clearItem(title) {
    delete this.bench.dataset.itemId;
    delete this.bench.dataset.leaseId;
    this.lease.clear();
    setText("#item-title", title);
    setText("#item-size", "");
    $("#history-link").hidden = true;
  }

  // ``url`` asks for one given item instead of the queue's next (after an undo).
  async loadNext(url = this.nextUrl) {
    clearTimeout(this.emptyTimer);
    this.served = null;
    this.setState("loading");
    try {
      const next = await api(url, { method: "POST" });
      this.progress.update(next.progress);
      if (!next.served) {
        this.clearItem("Queue empty");
        this.stage.message(...this.hooks.onEmpty(next.progress));
        this.hooks.onServed(null);
        this.setState("empty");
        this.emptyTimer = setTimeout(() => this.loadNext(), EMPTY_POLL_MS);
        return;
      }
      this.served = next.served;
      this.showItem(next.served);
      this.hooks.onServed(next.served);
      const loaded = await this.stage.show(next.served.item);
      if (!loaded) notify(`The image of item #${next.served.item.id} did not load; press S to skip it.`, "warn");
      this.setState("ready");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (url !== this.nextUrl && error instanceof ApiError && error.status === 409) {
        notify(`Item not brought back: ${error.detail}.`, "warn");
        return this.loadNext();
      }
      const forbidden = error instanceof ApiError && error.status === 403;
      this.clearItem(forbidden ? "Not available" : "Error");
      this.stage.message(...this.failure(error));
      this.setState(forbidden ? "forbidden" : "error");
    }
  }

  // The empty queue's message: its ``title``, what it means (``why``; null for
  // nothing), then a row of "Check again" and the ``links`` (nulls left out).
  emptyMessage(title, why, ...links) {
    return [
      el("strong", { id: "empty-message" }, title),
      why === null ? null : el("span", {}, why),
      el("div", { class: "row" },
        el("button", { type: "button", onclick: () => this.loadNext() }, "Check again"),
        ...links,
      ),
    ];
  }

  failure(error) {
    if (error instanceof ApiError && error.status === 403) {
      return [
        el("strong", { id: "forbidden-message" }, "Your role does not give access to this queue."),
        el("span", {}, `The server says: ${error.detail}. Ask an admin for the role, or keep labeling.`),
        el("a", { class: "button", href: "/label" }, "Go to labeling"),
      ];
    }
    return [
      el("strong", {}, "Could not load the next item."),
      el("span", {}, error.message),
      el("button", { type: "button", onclick: () => this.loadNext() }, "Try again"),
    ];
  }

  // Run one change at a time, only while an item is on screen, then load the next.
  // ``pending`` lets other actions (undo) wait for an answer in flight.
  act(work) {
    if (this.busy || this.state !== "ready" || !this.served) return this.pending;
    this.busy = true;
    const served = this.served;
    this.setState("saving");
    this.pending = (async () => {
      try {
        const keep = await work(served);
        if (keep) this.setState("ready");
        else await this.loadNext();
      } finally {
        this.busy = false;
      }
    })();
    return this.pending;
  }

  answer(value) {
    return this.act(async (served) => {
      this.pad.mark(value, "chosen");
      try {
        const out = await api(this.answerUrl, { method: "POST", body: { lease_id: served.lease_id, value } });
        this.progress.update(out.progress);
        this.hooks.onAnswered(out, value);
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          notify(`Not saved: ${error.detail}. Loading the next item.`, "warn", 5000);
        } else if (!(error instanceof ApiError && error.status === 401)) {
          notify(`Not saved: ${error.message}`, "error", 6000);
          return true;
        }
      } finally {
        this.pad.mark(null, "chosen");
      }
      return false;
    });
  }

  skip() {
    return this.act(async (served) => {
      try {
        await api(`/api/leases/${served.lease_id}/skip`, { method: "POST" });
      } catch (error) {
        if (error instanceof ApiError && error.status !== 409) notify(`Skip failed: ${error.message}`, "error");
      }
      return false;
    });
  }

  expired() {
    if (!this.served || this.busy) return;
    this.served = null;
    this.setState("expired");
    this.stage.message(
      el("strong", {}, "Your reservation on this image ran out."),
      el("span", {}, "It went back to the queue so that someone else can take it."),
      el("button", { type: "button", class: "primary", onclick: () => this.loadNext() }, "Load the next item ", el("kbd", {}, "N")),
    );
  }

  // The keys both views share: zoom, class keys, skip, and reloading after a stop.
  key(key, event) {
    if (zoomKey(this.stage, key)) return true;
    if (event.repeat) return false;
    const lower = key.toLowerCase();
    if (["expired", "empty", "error"].includes(this.state) && (lower === "n" || key === "Enter")) {
      this.loadNext();
      return true;
    }
    const name = this.pad.classForKey(key);
    if (name !== undefined) {
      this.answer(name);
      return true;
    }
    if (lower === "s") {
      this.skip();
      return true;
    }
    return false;
  }
}

// Undo the newest label of this session (`stack` holds {itemId, eventId, value},
// newest last): the item is unlabeled again. With `bringBack` it is shown again
// to this person at once (the item on screen goes back to the queue); otherwise
// it returns through the queue. `session` carries `undoing` (one undo at a time)
// and `count`; `describe` names a value for the notice; `refresh` redraws the
// undo button.
export async function undoLastSaved({ bench, session, stack, describe, refresh, bringBack = false }) {
  if (session.undoing) return;
  session.undoing = true;
  refresh();
  try {
    await bench.pending; // a label still being saved is the one to undo
    const last = stack.at(-1);
    if (!last) {
      notify("Nothing to undo in this session.");
      return;
    }
    try {
      await api(`/api/items/${last.itemId}/undo`, { method: "POST", body: { expected_event_id: last.eventId } });
      stack.pop();
      session.count -= 1;
      if (bringBack) {
        notify(`Undid ${describe(last.value)} on item #${last.itemId}; here it is again.`, "ok");
        await bench.loadNext(`/api/items/${last.itemId}/lease`);
      } else {
        notify(`Undid ${describe(last.value)} on item #${last.itemId}; it goes back to the queue.`, "ok");
        bench.progress.update((await api("/api/project")).progress);
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        stack.pop();
        notify(`Cannot undo item #${last.itemId}: its label changed since (${error.detail}).`, "warn", 6000);
      } else if (!(error instanceof ApiError && error.status === 401)) {
        notify(`Undo failed: ${error.message}`, "error");
      }
    }
  } finally {
    session.undoing = false;
    refresh();
  }
}
