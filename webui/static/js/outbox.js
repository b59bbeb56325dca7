// The outbox list: status badges follow message.status events.
import { badge } from "./app.js";

document.addEventListener("live:message.status", (event) => {
  const { id, status } = event.detail;
  for (const row of document.querySelectorAll(`[data-message-id="${Number(id)}"]`)) {
    const old = row.querySelector("[data-status]");
    if (old && old.dataset.status !== status) {
      const fresh = badge(status);
      fresh.classList.add("changed");
      old.replaceWith(fresh);
    }
  }
});
