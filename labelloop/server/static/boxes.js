// The box editor: draw, move, resize, relabel and delete boxes over one image;
// the model's proposals beside them (accept or reject); zoom, pan and undo.
// Pick the class, then draw: a class key with nothing selected sets the class
// of the boxes drawn next, and a new box is left unselected, so the next key
// never relabels it. In draw mode a drag always draws, even over a box or a
// proposal; proposals can be hidden from the image.
// Boxes are kept in whole pixels of the original image at every zoom level.
// The geometry below is pure; BoxEditor owns only the DOM it is given.

import { StageView } from "/static/common.js";

export const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];
export const ZOOMS = [0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8];
const PALETTE = ["#2c66d1", "#d4452a", "#2f8a57", "#8a3fd1", "#c27c0e", "#0e8a8a", "#c2347a", "#5d6876", "#6f8f0e", "#3f51b5"];
const DRAG_MIN_SCREEN_PX = 3;
const UNDO_DEPTH = 100;

// geometry (pure) -------------------------------------------------------------

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

// The box spanned by two corners, in whole pixels inside a width × height image, at least 1 px.
export function boxFromCorners(x0, y0, x1, y1, width, height, label) {
  const left = clamp(Math.round(Math.min(x0, x1)), 0, width - 1);
  const top = clamp(Math.round(Math.min(y0, y1)), 0, height - 1);
  const right = clamp(Math.round(Math.max(x0, x1)), left + 1, width);
  const bottom = clamp(Math.round(Math.max(y0, y1)), top + 1, height);
  return { x: left, y: top, width: right - left, height: bottom - top, label };
}

// ``box`` shifted by (dx, dy) pixels, its size kept and the whole of it inside the image.
export function moveBox(box, dx, dy, width, height) {
  return {
    ...box,
    x: clamp(Math.round(box.x + dx), 0, Math.max(0, width - box.width)),
    y: clamp(Math.round(box.y + dy), 0, Math.max(0, height - box.height)),
  };
}

// ``box`` with the edges that ``handle`` ("nw", "e", ...) names moved by (dx, dy);
// an edge stops at the image's border and 1 px short of the opposite edge.
export function resizeBox(box, handle, dx, dy, width, height) {
  let left = box.x;
  let top = box.y;
  let right = box.x + box.width;
  let bottom = box.y + box.height;
  if (handle.includes("w")) left = clamp(Math.round(left + dx), 0, right - 1);
  if (handle.includes("e")) right = clamp(Math.round(right + dx), left + 1, width);
  if (handle.includes("n")) top = clamp(Math.round(top + dy), 0, bottom - 1);
  if (handle.includes("s")) bottom = clamp(Math.round(bottom + dy), top + 1, height);
  return { ...box, x: left, y: top, width: right - left, height: bottom - top };
}

// A box as the API stores it: x, y, width, height, label (no score).
export function plainBox(box) {
  return { x: box.x, y: box.y, width: box.width, height: box.height, label: box.label };
}

export function sameBoxes(a, b) {
  return JSON.stringify((a ?? []).map(plainBox)) === JSON.stringify((b ?? []).map(plainBox));
}

// "3 boxes: 1×cat, 2×dog", or "No objects" for an empty list.
export function describeBoxes(boxes) {
  if (!boxes.length) return "No objects";
  const counts = new Map();
  for (const box of boxes) counts.set(box.label, (counts.get(box.label) ?? 0) + 1);
  const parts = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([label, n]) => `${n}×${label}`);
  return `${boxes.length} box${boxes.length === 1 ? "" : "es"}: ${parts.join(", ")}`;
}

// "7 0.81 · 1 30%": a proposal's class and score, then the other likely classes.
export function proposalTag(box) {
  const others = Object.entries(box.classes ?? {})
    .filter(([label]) => label !== box.label)
    .map(([label, p]) => `${label} ${Math.round(p * 100)}%`);
  return [`${box.label} ${box.score.toFixed(2)}`, ...others].join(" · ");
}

export function isBoxList(value) {
  return Array.isArray(value) && value.every((b) => b && typeof b === "object" && "width" in b && "label" in b);
}

export function classColor(classes, label) {
  const at = classes.indexOf(label);
  return at < 0 ? "#5d6876" : PALETTE[at % PALETTE.length];
}

// A small SVG of the boxes over a width × height frame, for lists and history rows.
export function boxesPreview(boxes, width, height, classes, size = 48) {
  const ns = "http://www.w3.org/2000/svg";
  const scale = size / Math.max(width, height);
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "boxes-preview");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(Math.round(width * scale)));
  svg.setAttribute("height", String(Math.round(height * scale)));
  svg.setAttribute("aria-hidden", "true");
  for (const box of boxes) {
    const rect = document.createElementNS(ns, "rect");
    for (const [key, value] of Object.entries({ x: box.x, y: box.y, width: box.width, height: box.height })) {
      rect.setAttribute(key, String(value));
    }
    rect.setAttribute("stroke", classColor(classes, box.label));
    svg.append(rect);
  }
  return svg;
}

// the editor ------------------------------------------------------------------

function div(cls, attrs = {}) {
  const node = document.createElement("div");
  node.className = cls;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

// The editor lives in ``root`` (a scrollable stage). ``onChange(editor)`` runs
// after every change to the boxes, proposals, selection or class.
export class BoxEditor extends StageView {
  constructor(root, { classes, zoomLabel = null, onChange = () => {} }) {
    const img = document.createElement("img");
    img.id = "item-image";
    img.alt = "";
    img.draggable = false;
    const canvas = div("box-canvas");
    super(root, zoomLabel, img, canvas);
    this.classes = classes;
    this.onChange = onChange;
    this.canvas = canvas;
    this.layer = div("box-layer", { "data-testid": "box-layer" });
    this.canvas.append(this.img, this.layer);
    this.currentClass = classes[0];
    this.drawMode = false;
    this.proposalsHidden = false;
    this.panning = false;
    this.drag = null;
    this.reset([], []);
    this.layer.addEventListener("pointerdown", (event) => this.pointerDown(event));
    this.layer.addEventListener("pointermove", (event) => this.pointerMove(event));
    this.layer.addEventListener("pointerup", (event) => this.pointerUp(event));
    this.layer.addEventListener("pointercancel", () => this.cancelDrag());
    this.root.addEventListener("contextmenu", (event) => event.preventDefault());
    this.root.addEventListener("wheel", (event) => this.wheel(event), { passive: false });
    new ResizeObserver(() => this.layout()).observe(root);
    this.updateZoomLabel();
  }

  // What the view shows ----------------------------------------------------------

  // The boxes (editable) and proposals (with ``score``) of a new item; clears undo.
  reset(boxes, proposals) {
    this.boxes = boxes.map(plainBox);
    this.proposals = proposals.map((p) => ({ ...plainBox(p), score: p.score, classes: p.classes ?? {} }));
    this.selected = null;
    this.past = [];
    this.future = [];
    this.drag = null;
    this.render();
  }

  value() {
    return this.boxes.map(plainBox);
  }

  get width() {
    return this.item?.width ?? 1;
  }

  get height() {
    return this.item?.height ?? 1;
  }

  // zoom and pan -------------------------------------------------------------------

  fitScale() {
    const room = Math.max(1, Math.min((this.root.clientWidth - 24) / this.width, (this.root.clientHeight - 24) / this.height));
    return room >= 2 ? Math.floor(room) : room;
  }

  layout() {
    if (!this.item) return;
    const scale = this.fitScale() * this.zoom;
    this.canvas.style.width = `${Math.max(1, Math.round(this.width * scale))}px`;
    this.canvas.style.height = `${Math.max(1, Math.round(this.height * scale))}px`;
    this.img.classList.toggle("pixelated", scale >= 2);
    this.render();
  }

  // Zoom one step in (+1) or out (-1), keeping the image point under ``anchor``
  // (client coordinates; the stage's centre by default) where it is.
  zoomBy(steps, anchor = null) {
    const at = ZOOMS.indexOf(this.zoom);
    const zoom = ZOOMS[clamp(at + steps, 0, ZOOMS.length - 1)];
    if (zoom === this.zoom) return;
    const view = this.root.getBoundingClientRect();
    const point = anchor ?? { x: view.left + view.width / 2, y: view.top + view.height / 2 };
    const fixed = this.toImage(point.x, point.y);
    this.zoom = zoom;
    this.layout();
    if (this.item) {
      const rect = this.canvas.getBoundingClientRect();
      this.root.scrollLeft += rect.left + (fixed.x * rect.width) / this.width - point.x;
      this.root.scrollTop += rect.top + (fixed.y * rect.height) / this.height - point.y;
    }
    this.updateZoomLabel();
  }

  // In draw mode a drag always draws a new box (moving and resizing wait).
  setDrawMode(on) {
    this.drawMode = on;
    this.root.classList.toggle("draw-mode", on);
    if (on && this.selected) this.select(null);
    else this.changed();
  }

  // Hidden proposals are not drawn on the image (nor picked by a click or
  // Tab); the side panel still lists them, and they can still be accepted there.
  setProposalsHidden(on) {
    this.proposalsHidden = on;
    if (on && this.selected?.kind === "proposal") this.select(null);
    else this.changed();
  }

  setPanning(on) {
    this.panning = on;
    this.root.classList.toggle("panning", on);
  }

  wheel(event) {
    if (!event.ctrlKey || !this.item) return; // a plain wheel scrolls the stage
    event.preventDefault();
    this.zoomBy(event.deltaY < 0 ? 1 : -1, { x: event.clientX, y: event.clientY });
  }

  // Client coordinates to (unrounded) pixels of the original image.
  toImage(clientX, clientY) {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((clientX - rect.left) * this.width) / (rect.width || 1),
      y: ((clientY - rect.top) * this.height) / (rect.height || 1),
    };
  }

  // changes (undoable) -------------------------------------------------------------

  // The boxes, proposals and selection, as undo keeps them.
  snapshot() {
    return JSON.stringify({ boxes: this.boxes, proposals: this.proposals, selected: this.selected });
  }

  // Record the state before a change; ``before`` is a snapshot() taken earlier.
  remember(before = this.snapshot()) {
    this.past.push(before);
    if (this.past.length > UNDO_DEPTH) this.past.shift();
    this.future = [];
  }

  restore(state) {
    ({ boxes: this.boxes, proposals: this.proposals, selected: this.selected } = JSON.parse(state));
    this.changed();
  }

  undo() {
    if (!this.past.length) return false;
    this.future.push(this.snapshot());
    this.restore(this.past.pop());
    return true;
  }

  redo() {
    if (!this.future.length) return false;
    this.past.push(this.snapshot());
    this.restore(this.future.pop());
    return true;
  }

  get dirty() {
    return this.past.length > 0;
  }

  changed() {
    this.render();
    this.onChange(this);
  }

  selectedBox() {
    return this.selected?.kind === "box" ? this.boxes[this.selected.index] : null;
  }

  selectedProposal() {
    return this.selected?.kind === "proposal" ? this.proposals[this.selected.index] : null;
  }

  select(kind, index) {
    this.selected = kind === null ? null : { kind, index };
    this.changed();
  }

  // The class of the selected box (a selected proposal is accepted as that
  // class), and of the boxes drawn from now on.
  setClass(label) {
    if (!this.classes.includes(label)) return;
    this.currentClass = label;
    const box = this.selectedBox();
    if (box && box.label !== label) {
      this.remember();
      box.label = label;
    } else if (this.selectedProposal()) {
      this.acceptProposal(this.selected.index, label);
      return;
    }
    this.changed();
  }

  deleteSelected() {
    if (!this.selected) return false;
    this.remember();
    const list = this.selected.kind === "box" ? this.boxes : this.proposals;
    list.splice(this.selected.index, 1);
    this.selected = null;
    this.changed();
    return true;
  }

  acceptProposal(index, label = null) {
    const proposal = this.proposals[index];
    if (!proposal) return false;
    this.remember();
    this.proposals.splice(index, 1);
    this.boxes.push({ ...plainBox(proposal), label: label ?? proposal.label });
    this.selected = { kind: "box", index: this.boxes.length - 1 };
    this.changed();
    return true;
  }

  acceptSelected() {
    return this.selected?.kind === "proposal" && this.acceptProposal(this.selected.index);
  }

  acceptAll() {
    if (!this.proposals.length) return false;
    this.remember();
    this.boxes.push(...this.proposals.map(plainBox));
    this.proposals = [];
    this.selected = null;
    this.changed();
    return true;
  }

  // Select the next (+1) or previous (-1) box, then proposal, round and round.
  cycle(step) {
    const all = [
      ...this.boxes.map((_, index) => ({ kind: "box", index })),
      ...(this.proposalsHidden ? [] : this.proposals.map((_, index) => ({ kind: "proposal", index }))),
    ];
    if (!all.length) return false;
    const at = this.selected ? all.findIndex((s) => s.kind === this.selected.kind && s.index === this.selected.index) : -1;
    const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : (at + step + all.length) % all.length;
    this.select(all[next].kind, all[next].index);
    return true;
  }

  // Move the selected box by whole pixels (arrow keys).
  nudge(dx, dy) {
    const box = this.selectedBox();
    if (!box) return false;
    const moved = moveBox(box, dx, dy, this.width, this.height);
    if (moved.x === box.x && moved.y === box.y) return true;
    this.remember();
    this.boxes[this.selected.index] = moved;
    this.changed();
    return true;
  }

  // mouse ----------------------------------------------------------------------------

  pointerDown(event) {
    if (!this.item || this.drag) return;
    if (event.target.closest("button")) return;
    const start = { clientX: event.clientX, clientY: event.clientY, at: this.toImage(event.clientX, event.clientY) };
    if (event.button === 1 || event.button === 2 || this.panning) {
      this.drag = { mode: "pan", ...start, scrollLeft: this.root.scrollLeft, scrollTop: this.root.scrollTop };
    } else if (event.button !== 0) {
      return;
    } else {
      const handle = this.drawMode ? null : event.target.closest(".handle");
      const hit = this.drawMode ? null : event.target.closest(".bbox");
      if (handle && this.selectedBox()) {
        this.drag = { mode: "resize", handle: handle.dataset.handle, ...start, original: { ...this.selectedBox() } };
      } else if (hit && hit.dataset.kind === "box") {
        this.select("box", Number(hit.dataset.index));
        this.drag = { mode: "move", ...start, original: { ...this.selectedBox() } };
      } else if (hit && hit.dataset.kind === "proposal") {
        this.select("proposal", Number(hit.dataset.index));
        return;
      } else {
        if (this.selected) this.select(null);
        this.drag = { mode: "draw", ...start, draft: null };
      }
      this.drag.before = this.snapshot();
    }
    this.layer.setPointerCapture(event.pointerId);
    event.preventDefault();
  }

  pointerMove(event) {
    const drag = this.drag;
    if (!drag) return;
    if (drag.mode === "pan") {
      this.root.scrollLeft = drag.scrollLeft - (event.clientX - drag.clientX);
      this.root.scrollTop = drag.scrollTop - (event.clientY - drag.clientY);
      return;
    }
    const now = this.toImage(event.clientX, event.clientY);
    const dx = now.x - drag.at.x;
    const dy = now.y - drag.at.y;
    if (drag.mode === "draw") {
      const far = Math.hypot(event.clientX - drag.clientX, event.clientY - drag.clientY) >= DRAG_MIN_SCREEN_PX;
      drag.draft = far ? boxFromCorners(drag.at.x, drag.at.y, now.x, now.y, this.width, this.height, this.currentClass) : null;
    } else if (drag.mode === "move") {
      this.boxes[this.selected.index] = moveBox(drag.original, dx, dy, this.width, this.height);
    } else if (drag.mode === "resize") {
      this.boxes[this.selected.index] = resizeBox(drag.original, drag.handle, dx, dy, this.width, this.height);
    }
    this.render();
  }

  pointerUp(event) {
    const drag = this.drag;
    if (!drag) return;
    this.pointerMove(event);
    this.drag = null;
    if (drag.mode === "pan") return;
    if (drag.mode === "draw" && drag.draft) {
      // Left unselected: the next class key picks the class of the next box.
      this.remember(drag.before);
      this.boxes.push(drag.draft);
      this.selected = null;
    } else if (drag.before !== this.snapshot()) {
      this.remember(drag.before);
    }
    this.changed();
  }

  cancelDrag() {
    if (!this.drag) return false;
    if (this.drag.before) ({ boxes: this.boxes, proposals: this.proposals, selected: this.selected } = JSON.parse(this.drag.before));
    this.drag = null;
    this.render();
    return true;
  }

  // drawing ----------------------------------------------------------------------------

  render() {
    if (!this.item) {
      this.layer.replaceChildren();
      return;
    }
    const sx = (parseFloat(this.canvas.style.width) || this.width) / this.width;
    const sy = (parseFloat(this.canvas.style.height) || this.height) / this.height;
    const place = (node, box) => {
      node.style.left = `${box.x * sx}px`;
      node.style.top = `${box.y * sy}px`;
      node.style.width = `${box.width * sx}px`;
      node.style.height = `${box.height * sy}px`;
      node.style.setProperty("--c", classColor(this.classes, box.label));
    };
    const nodes = [];
    if (!this.proposalsHidden) this.proposals.forEach((p, index) => nodes.push(this.boxNode("proposal", index, p, place)));
    this.boxes.forEach((b, index) => nodes.push(this.boxNode("box", index, b, place)));
    if (this.drag?.draft) {
      const draft = div("bbox draft");
      place(draft, this.drag.draft);
      nodes.push(draft);
    }
    this.layer.replaceChildren(...nodes);
  }

  boxNode(kind, index, box, place) {
    const selected = this.selected?.kind === kind && this.selected.index === index;
    const node = div(`bbox ${kind}${selected ? " selected" : ""}`, { "data-kind": kind, "data-index": String(index) });
    place(node, box);
    const tag = div("bbox-tag");
    tag.textContent = kind === "proposal" ? proposalTag(box) : box.label;
    node.append(tag);
    if (selected && kind === "box") {
      for (const handle of HANDLES) node.append(div(`handle h-${handle}`, { "data-handle": handle }));
    }
    if (selected && kind === "proposal") {
      const accept = document.createElement("button");
      accept.type = "button";
      accept.className = "bbox-accept";
      accept.textContent = "Accept (A)";
      accept.addEventListener("click", () => this.acceptProposal(index));
      const reject = document.createElement("button");
      reject.type = "button";
      reject.className = "bbox-reject";
      reject.textContent = "Reject (Del)";
      reject.addEventListener("click", () => this.deleteSelected());
      tag.append(accept, reject);
    }
    return node;
  }
}
