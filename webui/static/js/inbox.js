// The inbox: new messages move their sender's thread to the top (or open a new thread),
// and appear at the end of an open conversation. Message text is set with textContent only.
import { timeElement } from "./app.js";

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
  } else {
    const count = row.querySelector(".thread-count");
    count.textContent = String((Number(count.textContent) || 0) + 1);
    row.querySelector("a").classList.add("fresh");
  }
  row.querySelector(".thread-text").textContent = message.text;
  row.querySelector(".thread-time").replaceChildren(timeElement(message.received_at));
  list.prepend(row);
  const empty = document.getElementById("inbox-empty");
  if (empty) empty.hidden = true;
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
}

document.addEventListener("live:message.received", (event) => {
  const message = event.detail;
  message.text = String(message.text ?? "");
  message.from = String(message.from ?? "");
  onThreadList(message);
  onConversation(message);
});

const conversation = document.getElementById("conversation");
if (conversation) {
  const last = conversation.lastElementChild;
  if (last) last.scrollIntoView({ block: "nearest" });
}
