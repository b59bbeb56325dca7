// Dashboard and modem pages: modem cards follow modem.state events, today's figures refresh
// after message events, and the charts draw hourly traffic and signal history.
import { label } from "./app.js";

const BARS = [[-73, 4], [-83, 3], [-93, 2], [-105, 1]];

function bars(dbm) {
  if (dbm === null || dbm === undefined) return 0;
  for (const [floor, n] of BARS) if (dbm >= floor) return n;
  return 0;
}

function updateCard(card, data) {
  if (data.state) {
    const pill = card.querySelector('[data-field="state"]');
    pill.dataset.state = data.state;
    pill.textContent = label(data.state);
    card.className = card.className.replace(/state-\S+/, `state-${data.state}`);
  }
  if ("signal" in data || "signal_dbm" in data) {
    const dbm = "signal" in data ? data.signal : data.signal_dbm;
    const signal = card.querySelector("[data-signal]");
    signal.dataset.bars = String(bars(dbm));
    signal.querySelector(".signal-text").textContent = dbm === null || dbm === undefined ? "—" : `${dbm} dBm`;
  }
  for (const field of ["operator", "registration", "queue_depth", "sent_today"]) {
    if (!(field in data)) continue;
    const cell = card.querySelector(`[data-field="${field}"]`);
    if (!cell) continue;
    const value = data[field];
    cell.textContent = field === "registration" ? label(value) : (value ?? "—");
  }
}

document.addEventListener("live:modem.state", (event) => {
  const data = event.detail;
  for (const card of document.querySelectorAll(`[data-modem="${CSS.escape(String(data.name))}"]`)) {
    updateCard(card, data);
  }
});

let refreshTimer = null;
async function refreshSummary() {
  const response = await fetch("/ui/dashboard.json", { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  for (const [key, value] of Object.entries(data.summary)) {
    const cell = document.querySelector(`[data-summary="${key}"]`);
    if (cell && cell.textContent !== String(value)) {
      cell.textContent = String(value);
      cell.classList.remove("bump");
      void cell.offsetWidth;
      cell.classList.add("bump");
    }
  }
  for (const modem of data.modems) {
    for (const card of document.querySelectorAll(`[data-modem="${CSS.escape(modem.name)}"]`)) {
      updateCard(card, modem);
    }
  }
}
function soon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { refreshSummary(); refreshChart(); }, 400);
}
document.addEventListener("live:message.status", soon);
document.addEventListener("live:message.received", soon);

const css = getComputedStyle(document.documentElement);
const color = (name) => css.getPropertyValue(name).trim();
const SERIES = [
  ["sent", "--c-sent"], ["delivered", "--c-delivered"], ["failed", "--c-failed"], ["received", "--c-received"],
];
const hourFormat = new Intl.DateTimeFormat(document.body.dataset.lang || "en", { hour: "2-digit", minute: "2-digit" });
let trafficChart = null;

async function refreshChart() {
  const canvas = document.getElementById("traffic-chart");
  if (!canvas || !window.Chart) return;
  const response = await fetch(canvas.dataset.source, { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  const labels = data.hours.map((h) => hourFormat.format(new Date(h)));
  const datasets = SERIES.map(([name, variable]) => ({
    label: label(`series_${name}`),
    data: data.series[name],
    backgroundColor: color(variable),
    borderColor: color(variable),
    borderRadius: 4,
    maxBarThickness: 18,
  }));
  if (trafficChart) {
    trafficChart.data.labels = labels;
    trafficChart.data.datasets.forEach((set, i) => { set.data = datasets[i].data; });
    trafficChart.update();
    return;
  }
  trafficChart = new window.Chart(canvas, {
    type: "bar",
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { color: color("--muted"), maxRotation: 0, autoSkipPadding: 12 } },
        y: { beginAtZero: true, ticks: { precision: 0, color: color("--muted") }, grid: { color: color("--line") } },
      },
      plugins: { legend: { position: "bottom", labels: { color: color("--text"), usePointStyle: true, boxWidth: 8 } } },
    },
  });
}

async function drawSignal() {
  const canvas = document.getElementById("signal-chart");
  if (!canvas || !window.Chart) return;
  const response = await fetch(canvas.dataset.source, { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.points.map((p) => hourFormat.format(new Date(p.at))),
      datasets: [{ label: "dBm", data: data.points.map((p) => p.dbm), borderColor: color("--accent"),
        backgroundColor: color("--accent-soft"), fill: true, tension: 0.3, pointRadius: 0, spanGaps: true }],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: { y: { suggestedMin: -113, suggestedMax: -51, ticks: { color: color("--muted") }, grid: { color: color("--line") } },
        x: { ticks: { color: color("--muted"), maxTicksLimit: 8 }, grid: { display: false } } },
      plugins: { legend: { display: false } },
    },
  });
}

refreshChart();
drawSignal();
setInterval(refreshSummary, 60000);
