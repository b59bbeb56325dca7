// Dashboard and modem pages: modem cards follow modem.state events, today's figures refresh
// after message events, and the charts draw hourly traffic and signal history.
import { label } from "./app.js";

const BARS = [[-73, 4], [-83, 3], [-93, 2], [-105, 1]];

function bars(dbm) {
  if (dbm === null || dbm === undefined) return 0;
  for (const [floor, n] of BARS) if (dbm >= floor) return n;
  return 0;
}

const NO_SIGNAL_STATES = new Set(["offline", "error"]);
const percentFormat = new Intl.NumberFormat(document.body.dataset.lang || "en", { style: "percent", maximumFractionDigits: 1 });
const percent = (share) => (share === null || share === undefined ? "—" : percentFormat.format(share));

function updateCard(card, data) {
  if (data.state) {
    const pill = card.querySelector('[data-field="state"]');
    pill.dataset.state = data.state;
    pill.textContent = label(data.state);
    card.className = card.className.replace(/state-\S+/, `state-${data.state}`);
  }
  if ("signal" in data || "signal_dbm" in data || data.state) {
    const dbm = "signal" in data ? data.signal : "signal_dbm" in data ? data.signal_dbm : undefined;
    const signal = card.querySelector("[data-signal]");
    const state = card.querySelector('[data-field="state"]').dataset.state;
    const silent = NO_SIGNAL_STATES.has(state);
    if (dbm !== undefined) signal.dataset.dbm = dbm === null ? "" : String(dbm);
    const known = signal.dataset.dbm ? Number(signal.dataset.dbm) : null;
    signal.dataset.bars = String(silent ? 0 : bars(known));
    signal.querySelector(".signal-text").textContent = silent || known === null ? "—" : `${known} dBm`;
  }
  if (data.figures) {
    for (const [key, value] of Object.entries(data.figures)) {
      const cell = card.querySelector(`[data-figure="${key}"]`);
      if (!cell) continue;
      cell.textContent = key.endsWith("_rate") ? percent(value) : String(value ?? 0);
    }
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
    const text = cell && cell.dataset.format === "percent" ? percent(value) : String(value);
    if (cell && cell.textContent !== text) {
      cell.textContent = text;
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
const dayFormat = new Intl.DateTimeFormat(document.body.dataset.lang || "en", { day: "2-digit", month: "2-digit", timeZone: "UTC" });
let trafficChart = null;

async function refreshChart() {
  const canvas = document.getElementById("traffic-chart");
  if (!canvas || !window.Chart) return;
  const range = canvas.dataset.range || "24h";
  const response = await fetch(`${canvas.dataset.source}?range=${encodeURIComponent(range)}`, { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  const format = data.unit === "day" ? dayFormat : hourFormat;
  const labels = data.hours.map((h) => format.format(new Date(h)));
  canvas.dataset.shown = data.range;
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

const rangeTabs = document.getElementById("chart-range");
if (rangeTabs) {
  rangeTabs.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-range]");
    const canvas = document.getElementById("traffic-chart");
    if (!button || !canvas) return;
    for (const other of rangeTabs.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === button));
    canvas.dataset.range = button.dataset.range;
    refreshChart();
  });
}

refreshChart();
drawSignal();
setInterval(refreshSummary, 60000);
