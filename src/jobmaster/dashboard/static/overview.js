// Overview: counts by status, throughput chart (SVG drawn here), queue depth, sync lag, workers.
import { api, badge, el, table } from "./core.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function throughputChart(buckets) {
  const width = 1200, height = 180, left = 36, bottom = 20, top = 8;
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", preserveAspectRatio: "xMinYMid meet",
    "aria-label": "Jobs finished per minute" });
  const totals = buckets.map((b) => b.succeeded + b.failed + b.cancelled);
  const max = Math.max(1, ...totals);
  const plotH = height - bottom - top;
  const step = (width - left) / Math.max(1, buckets.length);
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    chart.append(svg("line", { x1: left, x2: width, y1: y, y2: y }));
    chart.append(svg("text", { x: 2, y: y + 3 }, String(Math.round((max * i) / 4))));
  }
  buckets.forEach((bucket, i) => {
    let y = top + plotH;
    for (const [key, cls] of [["succeeded", "s"], ["failed", "f"], ["cancelled", "c"]]) {
      const h = (bucket[key] / max) * plotH;
      if (h > 0) {
        y -= h;
        const rect = svg("rect", { class: cls, x: left + i * step + 1, y, width: Math.max(1, step - 2), height: h });
        rect.append(svg("title", {}, `${new Date(bucket.minute).toLocaleTimeString()}: ${bucket[key]} ${key}`));
        chart.append(rect);
      }
    }
    if (i % 10 === 0) {
      chart.append(svg("text", { x: left + i * step, y: height - 4 },
        new Date(bucket.minute).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
    }
  });
  return chart;
}

export async function overview() {
  const data = await api("api/overview");
  const counts = data.counts;
  const cards = el("div", { class: "cards", id: "status-counts" },
    ["queued", "processing", "succeeded", "failed", "cancelled"].map((status) =>
      el("div", { class: "card" }, el("div", { class: "n" }, counts[status] ?? 0),
        el("div", { class: "l" }, status === "queued" || status === "processing"
          ? `${status} now` : `${status} (${data.window_minutes} min)${data.counts_capped ? "+" : ""}`))),
    el("div", { class: "card" }, el("div", { class: "n" }, data.live_workers), el("div", { class: "l" }, "live workers")));
  const depthRows = [];
  for (const [agent, lanes] of Object.entries(data.queue_depth)) {
    const entries = Object.entries(lanes);
    if (!entries.length) depthRows.push(el("tr", {}, el("td", {}, agent), el("td", { class: "muted" }, "—"), el("td", {}, 0)));
    for (const [lane, count] of entries) depthRows.push(el("tr", {}, el("td", {}, agent), el("td", {}, lane), el("td", {}, count)));
  }
  const syncRows = Object.entries(data.sync).map(([agent, s]) => el("tr", {},
    el("td", {}, agent), el("td", {}, `${s.lag_seconds.toFixed(1)} s`),
    el("td", {}, `${s.pending_events}${s.pending_capped ? "+" : ""}`)));
  const workerRows = data.workers.map((w) => el("tr", {}, el("td", { class: "mono" }, w.name),
    el("td", {}, w.agent), el("td", {}, badge(w.alive ? w.status : "dead")), el("td", {}, w.in_flight)));
  return el("section", {},
    el("h1", {}, "Overview"), cards,
    el("div", { class: "panel" }, el("h2", {}, `Throughput (jobs finished per minute, last ${data.window_minutes} min)`),
      throughputChart(data.throughput),
      el("div", { class: "legend" }, el("span", {}, el("i", { class: "s" }), "succeeded"),
        el("span", {}, el("i", { class: "f" }), "failed"), el("span", {}, el("i", { class: "c" }), "cancelled"))),
    el("div", { class: "grid2" },
      el("div", { class: "panel" }, el("h2", {}, "Queue depth"), table(["Agent", "Lane", "Queued"], depthRows)),
      el("div", { class: "panel" }, el("h2", {}, "Sync to master"), table(["Agent", "Lag", "Pending events"], syncRows))),
    el("div", { class: "panel" }, el("h2", {}, "Workers"), table(["Worker", "Agent", "Status", "Running"], workerRows)),
    el("p", { class: "muted" }, `Updated ${new Date(data.taken_at).toLocaleTimeString()} · refreshes every ${data.poll_interval_seconds} s`));
}
