// Entry point: session, login form, hash router and polling.
import { api, clear, describeError, el, session, ApiError } from "./core.js";
import { overview } from "./overview.js";
import { jobsList, jobDetail } from "./jobs.js";
import { schedules, workers, logs, apiDocs } from "./pages.js";

const main = document.getElementById("main");
let timer = null;

const routes = [
  [/^\/?$/, overview, true],
  [/^\/jobs\/(.+)$/, jobDetail, true],
  [/^\/jobs$/, jobsList, false],
  [/^\/schedules$/, schedules, true],
  [/^\/workers$/, workers, true],
  [/^\/logs$/, logs, false],
  [/^\/api$/, apiDocs, false],
];

function parseHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, query] = raw.split("?");
  return { path, params: new URLSearchParams(query || "") };
}

async function loadSession() {
  const me = await api("api/session");
  Object.assign(session, {
    csrf: me.csrf_token || null, user: me.user || null, role: me.role || null,
    poll: Math.max(2, Number(me.poll_interval_seconds) || 2), authConfigured: me.auth_configured,
  });
  const who = clear(document.getElementById("who"));
  if (session.user) {
    who.append(el("span", { id: "whoami" }, `${session.user} · ${session.role}`));
    if (session.authConfigured) {
      who.append(el("button", { class: "secondary", id: "logout", onclick: logout }, "Log out"));
    }
  }
}

async function logout() {
  try { await api("api/session/logout", { method: "POST" }); } catch (e) { /* already out */ }
  session.csrf = null;
  session.user = null;
  showLogin();
}

function showLogin(message) {
  clearInterval(timer);
  const error = el("p", { class: "error", id: "login-error" }, message || "");
  const user = el("input", { name: "username", id: "username", autocomplete: "username", required: true });
  const pass = el("input", { name: "password", id: "password", type: "password", autocomplete: "current-password", required: true });
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        await api("api/session/login", { method: "POST", body: { username: user.value, password: pass.value } });
        await loadSession();
        render();
      } catch (e) {
        error.textContent = describeError(e);
      }
    },
  }, el("label", {}, "User", user), el("label", {}, "Password", pass),
  el("button", { type: "submit", id: "login-submit" }, "Log in"), error);
  clear(main).append(el("div", { class: "login panel" }, el("h1", {}, "Log in to JobMaster"), form));
}

async function render() {
  clearInterval(timer);
  const { path, params } = parseHash();
  for (const link of document.querySelectorAll("#nav a")) {
    const target = link.getAttribute("href").slice(1);
    link.classList.toggle("active", target === "/" ? path === "/" : path.startsWith(target));
  }
  for (const [pattern, view, live] of routes) {
    const match = path.match(pattern);
    if (!match) continue;
    const run = async () => {
      try {
        const node = await view({ params, match, refresh: run });
        if (node) clear(main).append(node);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return showLogin();
        clear(main).append(el("p", { class: "error" }, describeError(error)));
      }
    };
    await run();
    if (live) timer = setInterval(run, session.poll * 1000);
    return;
  }
  clear(main).append(el("p", { class: "error" }, "Page not found"));
}

window.addEventListener("hashchange", render);
(async () => {
  try {
    await loadSession();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showLogin();
    clear(main).append(el("p", { class: "error" }, describeError(error)));
    return;
  }
  if (!session.user) return showLogin();
  render();
})();
