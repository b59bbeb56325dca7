// The compose page: live counter, templates, scheduling time zone, picked recipients count.
import { label } from "./app.js";
import { loadCounter } from "./counter.js";

const text = document.getElementById("text");
const counterBox = document.getElementById("counter");
const offset = document.getElementById("tz_offset");
const sendAt = document.getElementById("send_at");

function setTimezone() {
  if (!offset) return;
  let minutes = new Date().getTimezoneOffset();
  if (sendAt && sendAt.value) {
    const local = new Date(sendAt.value);
    if (!Number.isNaN(local.getTime())) minutes = local.getTimezoneOffset();
  }
  offset.value = String(minutes);
}

async function startCounter() {
  if (!text || !counterBox) return;
  const count = await loadCounter(counterBox.dataset.tables);
  const show = () => {
    const info = count(text.value);
    document.getElementById("counter-encoding").textContent = info.encoding === "gsm7" ? "GSM-7" : "UCS-2";
    document.getElementById("counter-units").textContent = String(info.units);
    document.getElementById("counter-segments").textContent = String(info.segments);
    document.getElementById("counter-remaining").textContent = String(info.remaining);
    counterBox.dataset.encoding = info.encoding;
    counterBox.dataset.segments = String(info.segments);
    counterBox.classList.toggle("too-long", info.segments > count.maxParts);
    counterBox.title = info.segments > count.maxParts ? label("too long") : "";
    document.getElementById("ucs2-hint").hidden = info.encoding !== "ucs2" || text.value === "";
  };
  text.addEventListener("input", show);
  show();
  counterBox.dataset.ready = "true";
}

const template = document.getElementById("template");
if (template && text) {
  template.addEventListener("change", () => {
    const option = template.selectedOptions[0];
    if (option && option.dataset.text) {
      text.value = option.dataset.text;
      text.dispatchEvent(new Event("input"));
      text.focus();
    }
  });
}

const picked = document.getElementById("picked-count");
function countPicked() {
  if (!picked) return;
  const n = document.querySelectorAll('input[name="contact"]:checked, input[name="group"]:checked').length;
  picked.textContent = n ? `(${n})` : "";
}
document.addEventListener("change", (event) => {
  if (event.target.name === "contact" || event.target.name === "group") countPicked();
});
countPicked();

const form = document.getElementById("compose-form");
if (form) {
  form.addEventListener("submit", () => {
    setTimezone();
    const button = document.getElementById("send-button");
    if (button) setTimeout(() => { button.disabled = true; }, 0);
  });
}
setTimezone();
startCounter();
