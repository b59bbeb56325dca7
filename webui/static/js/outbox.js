// The outbox list: status badges follow message.status events, messages queued anywhere (this
// page, the API, the command line) appear at the top of the first page, and the bulk bar acts
// on the chosen rows. Text from messages is only ever set with textContent.
import { badge, label, timeElement } from "./app.js";

const table = document.getElementById("outbox-table");
const tbody = table ? table.tBodies[0] : null;

function updateBadges(id, status) {
  for (const row of document.querySelectorAll(`[data-message-id="${Number(id)}"]`)) {
    const old = row.querySelector(".badge[data-status]");
    if (old && old.dataset.status !== status) {
      const fresh = badge(status);
      fresh.classList.add("changed");
      old.replaceWith(fresh);
    }
  }
}

function newRow(message) {
  const row = document.getElementById("outbox-row-template").content.firstElementChild.cloneNode(true);
  row.dataset.messageId = String(message.id);
  const href = `/outbox/${Number(message.id)}`;
  const to = row.querySelector(".row-to");
  to.href = href;
  if (message.name) {
    const name = document.createElement("strong");
    name.className = "contact-name";
    name.textContent = String(message.name);
    const number = document.createElement("span");
    number.className = "muted small";
    number.textContent = ` ${message.to}`;
    to.append(name, number);
  } else {
    to.textContent = String(message.to);
  }
  const text = row.querySelector(".row-text");
  text.href = href;
  text.textContent = String(message.text);
  if (message.segments > 1) row.querySelector(".row-parts").textContent = ` · ${message.segments} ${label("parts")}`;
  row.querySelector(".row-status").append(badge(message.status));
  row.querySelector(".row-modem").textContent = message.modem || "—";
  row.querySelector(".row-created").append(timeElement(message.created_at));
  const pick = row.querySelector('input[name="id"]');
  if (pick) pick.value = String(message.id);
  return row;
}

let fetching = null;
let again = false;
async function addNewRows() {
  if (!table || table.dataset.firstPage !== "true") return;
  if (fetching) { again = true; return; }
  const after = Number(table.dataset.newest) || 0;
  const query = table.dataset.liveQuery ? `&${table.dataset.liveQuery}` : "";
  fetching = fetch(`/ui/outbox.json?after=${after}${query}`, { credentials: "same-origin" });
  try {
    const response = await fetching;
    if (!response.ok) return;
    const data = await response.json();
    const rows = data.rows.filter((m) => !tbody.querySelector(`tr[data-message-id="${Number(m.id)}"]`));
    for (const message of rows.reverse()) tbody.prepend(newRow(message));
    const newest = Math.max(after, ...data.rows.map((m) => Number(m.id)));
    table.dataset.newest = String(newest);
    if (data.rows.length) {
      document.getElementById("outbox-empty").hidden = true;
      document.getElementById("bulk-form").hidden = false;
    }
  } finally {
    fetching = null;
    if (again) { again = false; addNewRows(); }
  }
}

document.addEventListener("live:message.status", (event) => {
  const { id, status } = event.detail;
  updateBadges(id, status);
  if (table && Number(id) > (Number(table.dataset.newest) || 0)) addNewRows();
});
document.addEventListener("live:messages.queued", () => addNewRows());
document.addEventListener("live:ready", () => addNewRows());

// Bulk actions: choose rows, then act on them.
const form = document.getElementById("bulk-form");
if (form) {
  const all = document.getElementById("select-all");
  const count = document.getElementById("chosen-count");
  const picks = () => Array.from(form.querySelectorAll('input[name="id"]'));
  const refresh = () => {
    const chosen = picks().filter((box) => box.checked).length;
    const text = chosen ? `${chosen} ✓` : "";
    if (count && count.textContent !== text) count.textContent = text;
    for (const button of form.querySelectorAll("[data-needs-choice]")) button.disabled = chosen === 0;
    if (all) all.checked = chosen > 0 && chosen === picks().length;
  };
  if (all) all.addEventListener("change", () => { for (const box of picks()) box.checked = all.checked; refresh(); });
  form.addEventListener("change", (event) => { if (event.target.name === "id") refresh(); });
  if (tbody) new MutationObserver(refresh).observe(tbody, { childList: true });
  refresh();
}
