// Small SVG charts drawn by hand: stacked bars over time and lines over labels.
// Everything scales with its card: the SVG keeps a fixed viewBox at width 100%.

import { el } from "/static/common.js";

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 220;
const M = { left: 56, right: 12, top: 10, bottom: 30 };
const PALETTE = ["#2c66d1", "#d4892a", "#6f7f95", "#2f8a57", "#8b5cc4", "#c23b3b", "#1b9aaa"];
const SOURCE_COLORS = { human: "#2c66d1", auto: "#d4892a", import: "#6f7f95" };

export function sourceColor(source, index = 0) {
  return SOURCE_COLORS[source] ?? PALETTE[(index + 3) % PALETTE.length];
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A rounded top for the axis: 1, 2 or 5 times a power of ten.
function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function frame(yMax, yFormat, yLabel) {
  const plotH = H - M.top - M.bottom;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
  const y = (v) => M.top + plotH - (v / yMax) * plotH;
  const grid = svg("g", { class: "grid" },
    ticks.map((t) => svg("line", { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t) })));
  const axis = svg("g", { class: "axis" },
    ticks.map((t) => svg("text", { x: M.left - 6, y: y(t) + 4, "text-anchor": "end" }, yFormat(t))),
    yLabel ? svg("text", { x: 10, y: M.top + plotH / 2, transform: `rotate(-90 10 ${M.top + plotH / 2})`, "text-anchor": "middle" }, yLabel) : null);
  return { y, grid, axis, plotH };
}

function mount(root, ...children) {
  root.replaceChildren(
    svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", preserveAspectRatio: "xMidYMid meet" }, ...children),
  );
}

export function legend(series) {
  return el("div", { class: "legend" },
    series.map((s) => el("span", {}, el("span", { class: "swatch", style: `background:${s.color}` }), s.name)));
}

// Stacked bars, one per bucket. series: [{name, color, values: number[] (one per bucket)}].
export function stackedBars(root, { buckets, series, yLabel, empty }) {
  if (!buckets.length) {
    root.replaceChildren(el("div", { class: "empty" }, empty));
    return;
  }
  const totals = buckets.map((_, i) => series.reduce((sum, s) => sum + s.values[i], 0));
  const yMax = niceMax(Math.max(...totals));
  const { y, grid, axis } = frame(yMax, (v) => (Number.isInteger(v) ? v.toLocaleString("en-US") : ""), yLabel);
  const plotW = W - M.left - M.right;
  const band = plotW / buckets.length;
  const barW = Math.max(1, Math.min(40, band * 0.72));
  const bars = [];
  buckets.forEach((bucket, i) => {
    let base = 0;
    const x = M.left + i * band + (band - barW) / 2;
    for (const s of series) {
      const v = s.values[i];
      if (!v) continue;
      bars.push(svg("rect", { x, y: y(base + v), width: barW, height: y(base) - y(base + v), fill: s.color, rx: 1.5 },
        svg("title", {}, `${bucket}: ${v.toLocaleString("en-US")} ${s.name}`)));
      base += v;
    }
  });
  const every = Math.ceil(buckets.length / 8);
  const xLabels = svg("g", { class: "axis" },
    buckets.map((bucket, i) => (i % every === 0
      ? svg("text", { x: M.left + i * band + band / 2, y: H - 10, "text-anchor": "middle" }, bucket)
      : null)));
  mount(root, grid, ...bars, axis, xLabels);
  root.append(legend(series));
}

// Lines through points. series: [{name, color, points: [{x, y, title}]}]; y in [0, 1].
export function lineChart(root, { series, xLabel, empty }) {
  const xs = series.flatMap((s) => s.points.filter((p) => p.y !== null && p.y !== undefined).map((p) => p.x));
  if (!xs.length) {
    root.replaceChildren(el("div", { class: "empty" }, empty));
    return;
  }
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (x0 === x1) [x0, x1] = [Math.max(0, x0 - 1), x1 + 1];
  const { y, grid, axis } = frame(1, (v) => v.toFixed(2), null);
  const plotW = W - M.left - M.right;
  const x = (v) => M.left + ((v - x0) / (x1 - x0)) * plotW;
  const lines = series.map((s) => {
    const points = s.points.filter((p) => p.y !== null && p.y !== undefined);
    return svg("g", {},
      points.length > 1
        ? svg("polyline", { points: points.map((p) => `${x(p.x)},${y(p.y)}`).join(" "), fill: "none", stroke: s.color, "stroke-width": 2, "stroke-linejoin": "round" })
        : null,
      points.map((p) => svg("circle", { cx: x(p.x), cy: y(p.y), r: 3.5, fill: "#fff", stroke: s.color, "stroke-width": 2 },
        svg("title", {}, p.title))));
  });
  const ticks = [...new Set([0, 0.25, 0.5, 0.75, 1].map((f) => Math.round(x0 + f * (x1 - x0))))];
  const xAxis = svg("g", { class: "axis" },
    ticks.map((t) => svg("text", { x: x(t), y: H - 12, "text-anchor": "middle" }, t.toLocaleString("en-US"))),
    svg("text", { x: W - M.right, y: H - 0, "text-anchor": "end" }, xLabel));
  mount(root, grid, axis, xAxis, ...lines);
  root.append(legend(series));
}
