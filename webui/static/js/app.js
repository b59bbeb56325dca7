// Shared page behaviour: live events (Server-Sent Events), local times, small form helpers.
// Text that comes from SMS is only ever put in the page with textContent, never as HTML.

const body = document.body;
const lang = body.dataset.lang || "en";
let labels = {};
try { labels = JSON.parse(body.dataset.labels || "{}"); } catch { labels = {}; }

export function label(code) {
  if (code === null || code === undefined) return "—";
  const text = String(code);
  const colon = text.indexOf(":");
  if (colon > 0 && labels[text.slice(0, colon)]) {
    return `${label(text.slice(0, colon))}: ${label(text.slice(colon + 1))}`;
  }
  return labels[text] || text;
}

export function csrfToken() { return body.dataset.csrf || ""; }

const timeFormat = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });
const clockFormat = new Intl.DateTimeFormat(lang, { timeStyle: "short" });
const preciseFormat = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "medium" });
const preciseClock = new Intl.DateTimeFormat(lang, { timeStyle: "medium" });

// precise: with seconds (timelines, where steps come seconds apart).
export function formatTime(value, precise = false) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  if (precise) return sameDay ? preciseClock.format(date) : preciseFormat.format(date);
  return sameDay ? clockFormat.format(date) : timeFormat.format(date);
}

export function timeElement(iso, precise = false) {
  const element = document.createElement("time");
  element.dateTime = iso;
  if (precise) element.dataset.precise = "";
  element.textContent = formatTime(iso, precise);
  element.title = new Date(iso).toLocaleString(lang);
  return element;
}

export function localiseTimes(root = document) {
  for (const element of root.querySelectorAll("time[datetime]")) {
    const text = formatTime(element.dateTime, "precise" in element.dataset);
    if (text) {
      element.title = new Date(element.dateTime).toLocaleString(lang);
      element.textContent = text;
    }
  }
}

export function badge(status) {
  const element = document.createElement("span");
  element.className = `badge badge-${status}`;
  element.dataset.status = status;
  element.textContent = label(status);
  return element;
}

export function toast(title, text, href) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = document.createElement(href ? "a" : "div");
  item.className = "toast";
  if (href) item.href = href;
  const strong = document.createElement("strong");
  strong.textContent = title;
  const line = document.createElement("span");
  line.textContent = text;
  item.append(strong, line);
  box.append(item);
  setTimeout(() => item.classList.add("leaving"), 6000);
  setTimeout(() => item.remove(), 6600);
}

// Live events: one EventSource per page; pages listen for "live:<type>" on document.
function connectLive() {
  const dot = document.getElementById("live-dot");
  if (!dot || !("EventSource" in window)) return;
  const source = new EventSource("/events");
  const setState = (state) => {
    dot.dataset.state = state;
    dot.title = label(state === "open" ? "live" : "reconnecting");
    body.dataset.live = state;
  };
  source.addEventListener("ready", () => {
    setState("open");
    document.dispatchEvent(new CustomEvent("live:ready"));
  });
  source.onerror = () => setState("reconnecting");
  source.addEventListener("session.ended", () => {
    source.close();
    window.location.reload();
  });
  for (const type of ["message.status", "message.received", "modem.state", "messages.queued", "alert.changed"]) {
    source.addEventListener(type, (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch { return; }
      document.dispatchEvent(new CustomEvent(`live:${type}`, { detail: data }));
    });
  }
  window.addEventListener("pagehide", () => source.close());
}

// The unread count beside "Inbox" comes from the server with the page (it survives a reload)
// and is asked again when something changes it.
export async function refreshUnread() {
  const counter = document.getElementById("inbox-new");
  if (!counter) return;
  try {
    const response = await fetch("/ui/counts.json", { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    counter.textContent = String(data.unread);
    counter.hidden = !data.unread;
  } catch { /* the next event tries again */ }
}

// Anywhere: a new incoming SMS shows a toast and bumps the inbox counter.
document.addEventListener("live:message.received", (event) => {
  const message = event.detail;
  const counter = document.getElementById("inbox-new");
  if (counter) {
    counter.hidden = false;
    counter.textContent = String((Number(counter.textContent) || 0) + 1);
  }
  if (!document.getElementById("threads") && !document.getElementById("conversation")) {
    toast(`${label("new message from")} ${message.from}`, String(message.text || "").slice(0, 120),
      `/inbox/${encodeURIComponent(message.from)}`);
  }
});

// The banner of active alerts: rendered (and escaped) by the server with the page, and asked
// again as a fragment when an alert is raised or cleared or the stream reconnects.
export async function refreshAlerts() {
  const banner = document.getElementById("alert-banner");
  if (!banner) return;
  try {
    const response = await fetch("/ui/alerts", { credentials: "same-origin" });
    if (!response.ok) return;
    banner.innerHTML = await response.text();
    localiseTimes(banner);
  } catch { /* the next event tries again */ }
}
document.addEventListener("live:alert.changed", refreshAlerts);
let liveSeen = false;
document.addEventListener("live:ready", () => { if (liveSeen) refreshAlerts(); liveSeen = true; });

function wireForms() {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form && select.form.requestSubmit());
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // A button of its own asking first (a bulk "Delete" beside harmless buttons).
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
  // Date filters are days in the browser's time zone: the server is told its offset.
  for (const form of document.querySelectorAll("form[data-local-dates]")) {
    form.addEventListener("submit", () => {
      const tz = form.querySelector("[data-tz]");
      const from = form.querySelector('input[type="date"]');
      const day = from && from.value ? new Date(`${from.value}T00:00`) : new Date();
      if (tz) tz.value = String(Number.isNaN(day.getTime()) ? new Date().getTimezoneOffset() : day.getTimezoneOffset());
    });
  }
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.querySelector(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.classList.add("copied");
      } catch {
        const range = document.createRange();
        range.selectNodeContents(source);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
    });
  }
  const nav = document.getElementById("nav-toggle");
  if (nav) {
    const sync = () => nav.setAttribute("aria-expanded", nav.checked ? "true" : "false");
    nav.addEventListener("change", sync);
    nav.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); nav.checked = !nav.checked; sync(); }
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && nav.checked) { nav.checked = false; sync(); nav.focus(); }
    });
    sync();
  }
}

localiseTimes();
wireForms();
connectLive();
