// The inbox: new messages move their sender's thread to the top (or open a new thread) with
// its unread count, and appear at the end of an open conversation, which reads them at once;
// the status of replies in a conversation follows message.status events. Message text is set
// with textContent only.
import { badge, csrfToken, refreshUnread, timeElement } from "./app.js";

function onThreadList(message) {
  const list = document.getElementById("threads");
  if (!list) return;
  let row = Array.from(list.children).find((li) => li.dataset.sender === message.from);
  if (!row) {
    row = document.getElementById("thread-template").content.firstElementChild.cloneNode(true);
    row.dataset.sender = message.from;
    row.querySelector("a").href = `/inbox/${encodeURIComponent(message.from)}`;
    row.querySelector(".avatar").textContent = message.from.slice(-2);
    row.querySelector(".thread-sender").textContent = message.from;
    row.querySelector(".thread-pick").value = message.from;
  } else {
    const unread = (Number(row.dataset.unread) || 0) + 1;
    row.dataset.unread = String(unread);
    row.querySelector(".thread-count").textContent = String(unread);
    row.querySelector("a").classList.add("fresh", "unread");
  }
  row.querySelector(".thread-text").textContent = message.text;
  row.querySelector(".thread-time").replaceChildren(timeElement(message.received_at));
  list.prepend(row);
  const empty = document.getElementById("inbox-empty");
  if (empty) empty.hidden = true;
  const form = document.getElementById("inbox-bulk");
  if (form) form.hidden = false;
}

async function markRead(conversation) {
  try {
    const response = await fetch(conversation.dataset.readUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    });
    if (response.ok) await refreshUnread();
  } catch { /* it stays unread until the page is opened again */ }
}

function onConversation(message) {
  const conversation = document.getElementById("conversation");
  if (!conversation || conversation.dataset.sender !== message.from) return;
  const bubble = document.getElementById("bubble-template").content.firstElementChild.cloneNode(true);
  bubble.querySelector(".bubble-text").textContent = message.text;
  const meta = bubble.querySelector(".bubble-meta");
  meta.append(timeElement(message.received_at));
  if (message.modem) meta.append(` · ${message.modem}`);
  conversation.append(bubble);
  bubble.scrollIntoView({ block: "nearest" });
  markRead(conversation);
}

document.addEventListener("live:message.received", (event) => {
  const message = event.detail;
  message.text = String(message.text ?? "");
  message.from = String(message.from ?? "");
  onThreadList(message);
  onConversation(message);
});

// Replies in an open conversation: their badge follows the network's answers.
document.addEventListener("live:message.status", (event) => {
  const { id, status } = event.detail;
  for (const bubble of document.querySelectorAll(`#conversation [data-message-id="${Number(id)}"]`)) {
    const old = bubble.querySelector(".badge[data-status]");
    if (old && old.dataset.status !== status) {
      const fresh = badge(status);
      fresh.classList.add("changed");
      old.replaceWith(fresh);
    }
  }
});

const conversation = document.getElementById("conversation");
if (conversation) {
  const last = conversation.lastElementChild;
  if (last) last.scrollIntoView({ block: "nearest" });
}

// Choosing conversations for the bulk bar.
const form = document.getElementById("inbox-bulk");
if (form) {
  const all = document.getElementById("select-all");
  const picks = () => Array.from(form.querySelectorAll('input[name="sender"]'));
  const refresh = () => {
    const chosen = picks().filter((box) => box.checked).length;
    for (const button of form.querySelectorAll("[data-needs-choice]")) button.disabled = chosen === 0;
    if (all) all.checked = chosen > 0 && chosen === picks().length;
  };
  if (all) all.addEventListener("change", () => { for (const box of picks()) box.checked = all.checked; refresh(); });
  form.addEventListener("change", (event) => { if (event.target.name === "sender") refresh(); });
  refresh();
}
for (const box of document.querySelectorAll("[data-autosubmit-check]")) {
  box.addEventListener("change", () => box.form && box.form.requestSubmit());
}
