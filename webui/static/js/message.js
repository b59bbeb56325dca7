// One message: on each status event for it, reload its JSON and redraw status and timeline.
import { badge, label, timeElement } from "./app.js";

const root = document.getElementById("message");
const messageId = root ? Number(root.dataset.messageId) : null;

function timelineItem(event, segments) {
  const item = document.createElement("li");
  item.className = `tl-${event.status}`;
  const dot = document.createElement("span");
  dot.className = "tl-dot";
  const box = document.createElement("div");
  const title = document.createElement("strong");
  title.textContent = label(event.status);
  box.append(title);
  if (event.part && segments > 1) {
    const part = document.createElement("span");
    part.className = "muted";
    part.textContent = ` · ${label("part")} ${event.part}`;
    box.append(part);
  }
  const meta = document.createElement("div");
  meta.className = "muted small";
  meta.append(timeElement(event.at, true));
  if (event.modem) meta.append(` · ${event.modem}`);
  box.append(meta);
  if (event.detail) {
    const detail = document.createElement("div");
    detail.className = "tl-detail";
    detail.textContent = event.detail;
    box.append(detail);
  }
  item.append(dot, box);
  return item;
}

async function refresh() {
  const response = await fetch(root.dataset.source, { credentials: "same-origin" });
  if (!response.ok) return;
  const message = await response.json();
  const status = document.getElementById("message-status");
  status.replaceChildren(badge(message.status));
  status.querySelector(".badge").classList.add("changed");
  document.getElementById("message-modem").textContent = message.modem || "—";
  document.getElementById("message-attempts").textContent = String(message.attempts);
  const error = document.getElementById("message-error");
  error.hidden = !message.error;
  error.textContent = message.error || "";
  const timeline = document.getElementById("timeline");
  timeline.replaceChildren(...message.timeline.map((e) => timelineItem(e, message.segments)));
  const cancel = document.getElementById("cancel-form");
  if (cancel && message.status !== "queued") cancel.remove();
  root.dataset.status = message.status;
}

if (root) {
  let pending = null;
  document.addEventListener("live:message.status", (event) => {
    if (Number(event.detail.id) !== messageId) return;
    clearTimeout(pending);
    pending = setTimeout(refresh, 100);
  });
  // Catch up on anything that happened between rendering and the live stream opening.
  document.addEventListener("live:ready", refresh, { once: true });
  setTimeout(refresh, 1500);
}
