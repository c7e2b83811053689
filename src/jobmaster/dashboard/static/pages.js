// Schedules, workers, logs and the API browser (from the OpenAPI document).
import { act, api, ApiError, badge, el, fmtTime, session, table } from "./core.js";

const isOperator = () => session.role === "operator";

export async function schedules({ refresh }) {
  let items;
  try {
    items = await api("api/schedules");
  } catch (error) {
    if (error instanceof ApiError && error.status === 501) {
      return el("section", {}, el("h1", {}, "Schedules"), el("p", { class: "muted" }, String(error.detail)));
    }
    throw error;
  }
  const rows = items.map((s) => {
    const id = encodeURIComponent(s.id);
    const paused = String(s.status).toLowerCase() === "paused";
    const button = (label, path, method = "POST") => el("button", { class: "secondary", onclick: () =>
      act(label, () => api(`api/schedules/${id}${path}`, { method }), refresh) }, label);
    return el("tr", {}, el("td", { class: "mono" }, s.id), el("td", {}, s.definition_id ?? ""),
      el("td", { class: "mono" }, typeof s.expression === "string" ? s.expression : JSON.stringify(s.expression)),
      el("td", {}, badge(s.status ?? "")),
      el("td", {}, el("ul", {}, (s.next_runs || []).slice(0, 3).map((r) => el("li", {}, fmtTime(r))))),
      el("td", {}, isOperator() ? el("div", { class: "actions" },
        paused ? button("Resume", "/resume") : button("Pause", "/pause"),
        button("Run now", "/run"), button("Cancel", "", "DELETE")) : ""));
  });
  return el("section", {}, el("h1", {}, "Recurring schedules"),
    el("div", { class: "panel" }, table(["Id", "Definition", "Expression", "Status", "Next runs", ""], rows)));
}

export async function workers({ refresh }) {
  const items = await api("api/workers");
  const rows = items.map((w) => el("tr", {},
    el("td", { class: "mono" }, w.name), el("td", {}, w.host), el("td", {}, w.pid), el("td", {}, w.agent),
    el("td", {}, w.lanes.join(", ")), el("td", {}, badge(w.alive ? w.status : "dead")),
    el("td", {}, `${w.in_flight} / ${w.concurrency}`), el("td", {}, fmtTime(w.last_heartbeat)),
    el("td", {}, isOperator() && w.alive && !w.drain_requested ? el("button", { class: "secondary",
      onclick: () => act("Drain", () => api(`api/workers/${encodeURIComponent(w.id)}/drain`, { method: "POST" }), refresh) }, "Drain")
      : (w.drain_requested ? "drain requested" : ""))));
  return el("section", {}, el("h1", {}, "Workers"),
    el("div", { class: "panel" }, table(["Name", "Host", "Pid", "Agent", "Lanes", "Status", "Running", "Heartbeat", ""], rows)));
}

export async function logs({ params }) {
  const query = { level: params.get("level"), subject: params.get("subject"), text: params.get("text"), limit: 200 };
  const records = await api("api/logs", { query });
  const level = el("select", { name: "level" }, ["", "debug", "info", "warning", "error"].map((l) =>
    el("option", { value: l, selected: l === (params.get("level") || "") }, l || "any")));
  const subject = el("input", { name: "subject", value: params.get("subject") || "" });
  const text = el("input", { name: "text", value: params.get("text") || "" });
  const form = el("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const [k, node] of [["level", level], ["subject", subject], ["text", text]]) if (node.value) q.set(k, node.value);
    window.location.hash = `#/logs?${q}`;
  } }, el("label", {}, "Level", level), el("label", {}, "Subject", subject), el("label", {}, "Text", text),
  el("button", { type: "submit" }, "Filter"));
  const rows = records.map((r) => el("tr", {}, el("td", {}, fmtTime(r.time)), el("td", {}, badge(r.level)),
    el("td", { class: "mono" }, r.subject), el("td", { class: "mono" }, r.message)));
  return el("section", {}, el("h1", {}, "Logs of this API process"), el("div", { class: "panel" }, form),
    el("div", { class: "panel" }, table(["Time", "Level", "Subject", "Message"], rows)));
}

export async function apiDocs() {
  const doc = await api("api/openapi.json");
  const sections = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const params = (op.parameters || []).map((p) => el("li", { class: "mono" },
        `${p.name} (${p.in}${p.required ? ", required" : ""})`));
      const output = el("pre", { hidden: true });
      const tryIt = method === "get" && !path.includes("{") ? el("button", { class: "secondary", onclick: async () => {
        output.hidden = false;
        try { output.textContent = JSON.stringify(await api(path.slice(1)), null, 2).slice(0, 20000); }
        catch (error) { output.textContent = String(error.message); }
      } }, "Try it") : null;
      sections.push(el("div", { class: "panel" },
        el("h2", {}, el("span", { class: "badge" }, method.toUpperCase()), " ", el("span", { class: "mono" }, path)),
        el("p", {}, op.summary || ""), op.description ? el("p", { class: "muted" }, op.description) : null,
        params.length ? el("ul", {}, params) : null, tryIt, output));
    }
  }
  return el("section", {}, el("h1", {}, `${doc.info.title} ${doc.info.version}`),
    el("p", {}, "Machine-readable document: ", el("a", { href: "api/openapi.json" }, "api/openapi.json")), sections);
}
