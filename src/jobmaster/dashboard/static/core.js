// Shared helpers of the dashboard: DOM building (text nodes only; no HTML parsing of data), API calls, toasts.
// Every value coming from the server is written with textContent, so a payload holding
// "<script>" is shown as text and never runs.

export const session = { csrf: null, user: null, role: null, poll: 2, authConfigured: false };

const base = new URL(".", window.location.href); // works when mounted under a prefix

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function badge(text) {
  return el("span", { class: `badge ${String(text).replace(/[^a-z_]/g, "")}` }, text);
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return isNaN(date) ? String(iso) : date.toLocaleString();
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

export async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(path.replace(/^\//, ""), base);
  for (const [key, value] of Object.entries(query || {})) {
    if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(key, v));
    else if (value !== "" && value !== null && value !== undefined) url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session.csrf) headers["X-CSRF-Token"] = session.csrf;
  const response = await fetch(url, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data && data.detail !== undefined ? data.detail : data);
  return data;
}

export function describeError(error) {
  if (!(error instanceof ApiError)) return String(error);
  const detail = error.detail;
  if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
  return `${error.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
}

let toastTimer = null;
export function toast(message, isError = false) {
  const node = document.getElementById("toast");
  node.textContent = message;
  node.className = isError ? "toast error-toast" : "toast";
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 4000);
}

export function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows : [el("tr", {}, el("td", { colspan: headers.length, class: "muted" }, "Nothing to show"))]));
}

export function kv(pairs) {
  return el("dl", { class: "kv" }, pairs.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "—")]));
}

export function json(value) {
  return el("pre", { class: "mono" }, JSON.stringify(value, null, 2));
}

export async function act(label, call, after) {
  try {
    await call();
    toast(`${label}: done`);
    if (after) await after();
  } catch (error) {
    toast(`${label} failed: ${describeError(error)}`, true);
  }
}

export function toIso(localValue) {
  // <input type="datetime-local"> gives local wall time; send an aware ISO instant.
  const date = new Date(localValue);
  if (isNaN(date)) throw new Error("invalid date");
  return date.toISOString();
}
