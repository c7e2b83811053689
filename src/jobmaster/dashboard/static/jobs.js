// Jobs table (filters, keyset paging) and the job page (payload, metadata, attempts, actions).
import { act, api, badge, el, fmtTime, json, kv, session, table, toIso } from "./core.js";

const STATUSES = ["", "scheduled", "queued", "processing", "succeeded", "failed", "cancelled"];
const FILTERS = ["status", "definition", "lane", "schedule", "metadata", "created_from", "created_to"];

function go(params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  window.location.hash = `#/jobs?${query}`;
}

export async function jobsList({ params }) {
  const query = { limit: 25, cursor: params.get("cursor") };
  for (const key of FILTERS) query[key] = params.get(key);
  if (query.metadata) query.metadata = [query.metadata];
  for (const key of ["created_from", "created_to"]) if (query[key]) query[key] = toIso(query[key]);
  const page = await api("api/jobs", { query });
  const inputs = {};
  const field = (name, label, node) => { inputs[name] = node; return el("label", {}, label, node); };
  const form = el("form", { class: "filters", id: "job-filters", onsubmit: (event) => {
    event.preventDefault();
    const next = {};
    for (const [key, node] of Object.entries(inputs)) next[key] = node.value.trim();
    go(next);
  } },
  field("status", "Status", el("select", { name: "status" }, STATUSES.map((s) =>
    el("option", { value: s, selected: s === (params.get("status") || "") }, s || "any")))),
  field("definition", "Definition", el("input", { name: "definition", value: params.get("definition") || "" })),
  field("lane", "Lane", el("input", { name: "lane", value: params.get("lane") || "", size: 10 })),
  field("schedule", "Schedule id", el("input", { name: "schedule", value: params.get("schedule") || "", size: 12 })),
  field("metadata", "Metadata key=value", el("input", { name: "metadata", value: params.get("metadata") || "", size: 14 })),
  field("created_from", "Created from", el("input", { name: "created_from", type: "datetime-local", value: params.get("created_from") || "" })),
  field("created_to", "Created to", el("input", { name: "created_to", type: "datetime-local", value: params.get("created_to") || "" })),
  el("button", { type: "submit", id: "apply-filters" }, "Filter"),
  el("button", { type: "button", class: "secondary", onclick: () => go({}) }, "Reset"));
  const rows = page.items.map((job) => el("tr", {
    class: "link", "data-job-id": job.id, onclick: () => { window.location.hash = `#/jobs/${encodeURIComponent(job.id)}`; },
  }, el("td", { class: "mono" }, job.id.slice(0, 8)), el("td", {}, badge(job.status)),
  el("td", {}, job.definition_id), el("td", {}, job.lane), el("td", {}, job.attempt_count),
  el("td", {}, fmtTime(job.created_at)), el("td", {}, job.last_error ? job.last_error.slice(0, 80) : "")));
  const current = Object.fromEntries(FILTERS.map((k) => [k, params.get(k)]));
  const pager = el("div", { class: "pager" },
    el("button", { class: "secondary", disabled: !params.get("cursor"), onclick: () => history.back() }, "← Previous"),
    el("button", { class: "secondary", id: "next-page", disabled: !page.next_cursor,
      onclick: () => go({ ...current, cursor: page.next_cursor }) }, "Next →"),
    page.scanned ? el("span", { class: "muted" }, `${page.scanned} rows examined`) : null);
  return el("section", {}, el("h1", {}, "Jobs"), el("div", { class: "panel" }, form),
    el("div", { class: "panel" }, table(["Id", "Status", "Definition", "Lane", "Attempts", "Created", "Last error"], rows), pager));
}

let lastDetail = null;

function attemptsTimeline(attempts) {
  if (!attempts.length) return el("p", { class: "muted" }, "No attempt yet.");
  return el("ol", { class: "timeline", id: "attempts" }, attempts.map((a) => el("li", { class: a.outcome },
    el("div", {}, el("strong", {}, `Attempt ${a.number} `), badge(a.outcome),
      el("span", { class: "muted" }, ` ${fmtTime(a.started_at)} → ${fmtTime(a.finished_at)} on ${a.worker_id || "?"}`)),
    a.error ? el("div", { class: "error" }, a.error) : null,
    a.traceback ? el("details", {}, el("summary", {}, "Traceback"), el("pre", {}, a.traceback)) : null)));
}

function actions(job, refresh) {
  if (session.role !== "operator") return el("p", { class: "muted" }, "Read-only access: actions need the operator role.");
  const waiting = ["queued", "scheduled"].includes(job.status);
  const when = el("input", { type: "datetime-local", id: "reschedule-at" });
  const id = encodeURIComponent(job.id);
  const again = () => { lastDetail = null; return refresh(); };
  return el("div", { class: "actions" },
    el("button", { class: "danger", id: "cancel-job", disabled: job.status !== "queued" && job.status !== "processing" && job.status !== "scheduled",
      onclick: () => act("Cancel", () => api(`api/jobs/${id}/cancel`, { method: "POST" }), again) }, "Cancel"),
    el("button", { id: "retry-job", disabled: !waiting,
      onclick: () => act("Retry now", () => api(`api/jobs/${id}/retry`, { method: "POST" }), again) }, "Run now"),
    el("label", {}, "Reschedule to", when),
    el("button", { class: "secondary", id: "reschedule-job", disabled: !waiting,
      onclick: () => act("Reschedule", () => api(`api/jobs/${id}/reschedule`, { method: "POST", body: { scheduled_at: toIso(when.value) } }), again) }, "Reschedule"));
}

export async function jobDetail({ match, refresh }) {
  const job = await api(`api/jobs/${encodeURIComponent(decodeURIComponent(match[1]))}`);
  const signature = JSON.stringify(job) + session.role;
  if (signature === lastDetail && document.getElementById("job-detail")) return null;
  lastDetail = signature;
  return el("section", { id: "job-detail" },
    el("p", {}, el("a", { href: "#/jobs" }, "← Jobs")),
    el("h1", {}, "Job ", el("span", { class: "mono" }, job.id), " ", el("span", { id: "job-status" }, badge(job.status))),
    actions(job, refresh),
    el("div", { class: "grid2" },
      el("div", { class: "panel" }, kv([
        ["Definition", job.definition_id], ["Lane", job.lane], ["Priority", job.priority],
        ["Scheduled", fmtTime(job.scheduled_at)], ["Created", fmtTime(job.created_at)],
        ["Finished", fmtTime(job.finished_at)], ["Attempts", `${job.attempt_count} of ${job.max_retries + 1}`],
        ["Agent", job.agent], ["Trigger", job.trigger], ["Schedule", job.schedule_id],
        ["Idempotency key", job.idempotency_key], ["Last error", job.last_error]])),
      el("div", { class: "panel" }, el("h2", {}, "Payload"), el("div", { id: "payload" }, json(job.msg_data)),
        el("h2", {}, "Metadata"), el("div", { id: "metadata" }, json(job.metadata)))),
    el("div", { class: "panel" }, el("h2", {}, "Attempts"), attemptsTimeline(job.attempts || [])));
}
