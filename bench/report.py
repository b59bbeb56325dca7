"""Writes ``docs/benchmarks.md`` (method, machine, results against targets, plots, findings)
from ``bench/results/*.json``, with PNG plots in ``bench/results/plots/``. The findings are
kept by hand in ``bench/findings.md`` and copied in as they are.

Run: .venv/bin/python -m bench.report
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, REPO_ROOT, RESULTS_DIR, Result, read_results, results_dir

DOC = REPO_ROOT / "docs" / "benchmarks.md"
PLOTS = RESULTS_DIR / "plots"
FINDINGS = BENCH_DIR / "findings.md"

METHOD = """\
`make bench` (or `.venv/bin/python bench/run_all.py [--quick]`) runs every benchmark below in
turn, writes one JSON file per benchmark to `bench/results/` and rewrites this page. Nothing
here runs in `make test`; `tests/unit/test_bench_smoke.py` only checks that the harness works.

- **Modems** are `gatewayd simulate` modems on ptys (run through `bench/simulate_precise.py`,
  which adds a sub-millisecond arrival time `t` to each ledger line; the ledger's own `at` has
  whole seconds). `--latency-ms` is the time from the PDU to the `+CMGS` answer, so one modem
  can take at most 1/latency parts per second: that is the *limit*. The simulated modem answers
  on time to a fraction of a millisecond (the event loop's own timers would be up to 1 ms
  late), but each `AT+CMGS` still has two trips over the pty (command → `> `, PDU → answer):
  `bench/sim_ceiling.py` measures what a client doing nothing else reaches, the *simulator's
  ceiling*, shown beside the ratio.
- **The daemon** is the real `gatewayd run --config …` process with one `[[modem]]` per
  simulated device, on a throwaway database (SQLite file, or a PostgreSQL database created and
  dropped for the run), woken through Redis (PostgreSQL runs) or its local socket (SQLite).
- **Rates** come from the ledger: parts accepted between the first and the last, per modem,
  summed over the window in which every modem was busy; *ratio* = rate / limit.
- **CPU** is read from `/proc` over the measured window, in % of one core (200 % = both cores),
  for the daemon, the simulator, the PostgreSQL backends and the whole machine; memory is the
  daemon's resident set (peak).
- **Queue latency** is the ledger time of the part minus the time the enqueue committed, one
  message at a time on an idle modem (the next is queued once the previous is delivered).
- **At size** loads 1,000,000 messages with COPY into a throwaway PostgreSQL database and times
  the store functions the daemon and the API use.
- Every message asks for a status report (the default); reports come back 200 ms (10 ms in the
  latency runs) after the `+CMGS` answer and are processed by the daemon during the runs.
"""


def _fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return "–" if value is None else str(value)


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("**met**" if met else "**missed**")


def target_rows(results: dict[str, Result]) -> list[tuple[str, str, str, str]]:
    """(what, figure, target, verdict) for the summary table."""
    rows: list[tuple[str, str, str, str]] = [
        (f"{name}", f"failed: {result.get('error', '?')[:200]}", "–", "**not measured**")
        for name, result in results.items()
        if result.get("failed")
    ]
    for run in results.get("limit", {}).get("runs", []):
        rows.append(
            (
                f"1. one modem, {run['latency_ms']:g} ms, {run['messages']} msgs, "
                f"{run['database']}",
                f"ratio {run['ratio']:.3f} ({run['rate_sms_per_s']:.2f} of "
                f"{run['limit_sms_per_s']:g}"
                f" SMS/s); {_fmt(run.get('share_of_ceiling'))} of the simulator's own ceiling "
                f"({_fmt(run.get('simulator_ceiling'))}); daemon "
                f"{run.get('gatewayd_cpu_ms_per_part', 0):g} ms CPU/part; "
                f"others' CPU {run.get('other_cpu_percent', 0):g} %",
                "≥ 0.98",
                _verdict(run["ratio"] >= 0.98),
            )
        )
    for run in results.get("scale", {}).get("runs", []):
        rss_ok = run["gatewayd_peak_rss_mb"] < 150
        verdict = _verdict(run["ratio"] >= 0.95) + (" (RSS met)" if rss_ok else " (RSS missed)")
        rows.append(
            (
                f"2. {run['modems']} modems at 200 ms, {run['database']}",
                f"ratio {run['ratio']:.3f}; daemon CPU {run['gatewayd_cpu_percent']:g} %, RSS "
                f"{run['gatewayd_peak_rss_mb']:g} MB, "
                f"{run.get('gatewayd_cpu_ms_per_part', 0):g} ms "
                f"CPU/part; simulator CPU {run['simulator_cpu_percent']:g} %; PostgreSQL "
                f"{run.get('postgresql_cpu_percent', 0):g} %; others' CPU "
                f"{run.get('other_cpu_percent', 0):g} %",
                "≥ 0.95, RSS < 150 MB (at 64)",
                verdict if run["modems"] == 64 else "(info)",
            )
        )
    for run in results.get("latency", {}).get("runs", []):
        q = run["queue_latency"]
        rows.append(
            (
                f"3. queue latency, {run['setup']} ({run['sends']} sends)",
                f"p50 {q['p50_ms']:.1f} ms, p99 {q['p99_ms']:.1f} ms",
                "p50 < 20 ms, p99 < 100 ms",
                _verdict(run["met"]),
            )
        )
    ingest = results.get("ingest")
    if ingest is not None and not ingest.get("measured", False):
        rows.append(
            (
                "4. API ingest",
                ingest.get("note", "not measured"),
                "≥ 2,000 POST/s (p95 < 200 ms); ≥ 20,000 recipients/s",
                "not measured",
            )
        )
    for run in (ingest or {}).get("runs", []):
        rows.append(
            (
                f"4. API ingest, {run['database']}",
                f"{run['single_per_s']:,.0f} POST/s (p95 {run['single_p95_ms']:.0f} ms); "
                f"{run['batch_recipients_per_s']:,.0f} recipients/s",
                "≥ 2,000/s with p95 < 200 ms; ≥ 20,000/s",
                _verdict(run["single_met"] and run["batch_met"]),
            )
        )
    size = results.get("at_size")
    if size:
        rows.append(
            (
                f"5. report matching, {size['messages']:,} messages",
                f"p95 {size['apply_status_report']['p95_ms']:.1f} ms",
                "p95 < 10 ms",
                _verdict(size["apply_status_report"]["p95_ms"] < 10),
            )
        )
        rows.append(
            (
                "5. GET message by id",
                f"p95 {size['get_by_id']['p95_ms']:.1f} ms",
                "p95 < 10 ms",
                _verdict(size["get_by_id"]["p95_ms"] < 10),
            )
        )
        worst = max(size["list_by_status"].items(), key=lambda kv: kv[1]["p95_ms"])
        listed_ok = all(v["p95_ms"] < 10 for v in size["list_by_status"].values())
        rows.append(
            (
                "5. list by status, pages of 50",
                f"worst p95 {worst[1]['p95_ms']:.1f} ms ({worst[0]})",
                "p95 < 10 ms",
                _verdict(listed_ok),
            )
        )
    for row in results.get("side_by_side", {}).get("rows", []):
        if row["peer"] == "gatewayd":
            continue
        figure = (
            f"{row['rate_sms_per_s']:.2f} SMS/s = {row['peer_over_ours']:.3f} × ours"
            if row.get("measured")
            else row.get("note", "not measured")
        )
        rows.append((f"6. {row['peer']} beside gatewayd", figure, "(comparison)", "–"))
    return rows


def _plots(results: dict[str, Result], plots: Path) -> list[tuple[str, str]]:
    """Draw what the results allow into ``plots``; (file name, caption) of each plot drawn.
    None without matplotlib (it comes with the ``bench`` extra)."""
    try:
        import matplotlib
    except ImportError:
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots.mkdir(parents=True, exist_ok=True)
    drawn: list[tuple[str, str]] = []

    def save(figure: Any, name: str, caption: str) -> None:
        figure.tight_layout()
        figure.savefig(plots / name, dpi=90)
        plt.close(figure)
        drawn.append((name, caption))

    limit = results.get("limit", {}).get("runs", [])
    scale = results.get("scale", {}).get("runs", [])
    if limit or scale:
        figure, axis = plt.subplots(figsize=(8, 3.6))
        labels = [f"1 modem\n{r['latency_ms']:g} ms\n{r['database'][:6]}" for r in limit]
        labels += [f"{r['modems']} modems\n200 ms\n{r['database'][:6]}" for r in scale]
        ratios = [r["ratio"] for r in limit + scale]
        axis.bar(labels, ratios, color=["#4477aa"] * len(limit) + ["#66ccee"] * len(scale))
        axis.axhline(0.98, color="#cc3311", linestyle="--", label="target, one modem (0.98)")
        axis.axhline(0.95, color="#ee7733", linestyle=":", label="target, 64 modems (0.95)")
        axis.set_ylim(0, 1.05)
        axis.set_ylabel("achieved / limit")
        axis.legend(loc="lower left", fontsize=8)
        save(figure, "throughput.png", "Throughput as a share of the modems' limit (1 and 2)")
    if scale:
        figure, axis = plt.subplots(figsize=(8, 3.2))
        pg = [r for r in scale if r["database"] == "postgresql"]
        xs = [r["modems"] for r in pg]
        for key, label in (
            ("gatewayd_cpu_percent", "gatewayd"),
            ("simulator_cpu_percent", "simulator"),
            ("postgresql_cpu_percent", "PostgreSQL"),
            ("other_cpu_percent", "other processes"),
            ("machine_cpu_percent", "whole machine"),
        ):
            axis.plot(xs, [r.get(key, 0) for r in pg], marker="o", label=label)
        axis.axhline(200, color="grey", linestyle=":", label="2 cores")
        axis.set_xlabel("modems (PostgreSQL, 200 ms)")
        axis.set_ylabel("CPU, % of one core")
        axis.legend(fontsize=8)
        save(figure, "scale_cpu.png", "CPU while sending, by number of modems (2)")
    latency = results.get("latency", {}).get("runs", [])
    if latency:
        figure, axis = plt.subplots(figsize=(8, 3.2))
        for run in latency:
            samples = sorted(run["samples_ms"])
            shares = [(i + 1) / len(samples) for i in range(len(samples))]
            axis.plot(samples, shares, label=run["setup"])
        axis.axvline(20, color="#cc3311", linestyle="--", label="p50 target")
        axis.axvline(100, color="#ee7733", linestyle=":", label="p99 target")
        axis.set_xscale("log")
        axis.set_xlabel("enqueue committed → PDU at the modem (ms)")
        axis.set_ylabel("share of sends")
        axis.legend(fontsize=8)
        save(figure, "queue_latency.png", "Queue latency, cumulative distribution (3)")
    size = results.get("at_size")
    if size:
        figure, axis = plt.subplots(figsize=(8, 3.6))
        names = ["report match", "by id", *size["list_by_status"]]
        values = [size["apply_status_report"]["p95_ms"], size["get_by_id"]["p95_ms"]]
        values += [v["p95_ms"] for v in size["list_by_status"].values()]
        axis.barh(names, values, color="#4477aa")
        axis.axvline(10, color="#cc3311", linestyle="--", label="target p95 10 ms")
        axis.set_xscale("log")
        axis.set_xlabel("p95 (ms)")
        axis.legend(fontsize=8)
        save(figure, "at_size.png", f"Queries with {size['messages']:,} messages stored (5)")
    peers = [r for r in results.get("side_by_side", {}).get("rows", []) if r.get("measured")]
    if peers:
        figure, axis = plt.subplots(figsize=(8, 3.0))
        axis.bar(
            [r["peer"] for r in peers],
            [r["rate_sms_per_s"] for r in peers],
            color=["#228833"] + ["#bbbbbb"] * (len(peers) - 1),
        )
        axis.axhline(20, color="#cc3311", linestyle="--", label="limit (20 SMS/s)")
        axis.set_yscale("log")
        axis.set_ylabel("SMS/s")
        axis.legend(fontsize=8)
        save(figure, "side_by_side.png", "Same modem, same 200 messages (6)")
    return drawn


def _machine(results: dict[str, Result]) -> str:
    for result in results.values():
        m = result.get("machine")
        if m:
            return (
                f"{m['cores']} cores ({m['cpu'] or 'unknown CPU'}), {m['memory_gib']} GiB, "
                f"Linux {m['kernel']}, Python {m['python']}, {m['postgresql']}, "
                f"{m['redis']}."
            )
    return "unknown"


def _details(results: dict[str, Result]) -> list[str]:
    lines = []
    for name, result in results.items():
        if name.startswith("breakdown") or name == "codec_speed":
            continue
        lines.append(
            f"- `bench/results/{name}.json` ({result.get('taken_at', '?')}): "
            f"{result.get('title', name)}. {result.get('note', '')}".rstrip()
        )
    return lines


def render(results: dict[str, Result], plots_dir: Path = PLOTS, doc: Path = DOC) -> str:
    plots = _plots(results, plots_dir)
    table = ["| benchmark | result | target | verdict |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in target_rows(results)]
    relative = Path(os.path.relpath(plots_dir, doc.parent))
    load = [r["machine"].get("load_average") for r in results.values() if r.get("machine")]
    pictures = [f"![{caption}]({relative / name})\n\n*{caption}*\n" for name, caption in plots]
    findings = FINDINGS.read_text(encoding="utf-8") if FINDINGS.exists() else ""
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "How fast the gateway sends, against the modems' own limit, the peers and the "
            "product's "
            "targets. This page is written by `bench/report.py` from `bench/results/`.",
            "",
            "## Machine",
            "",
            _machine(results),
            *(
                [
                    "",
                    "Load averages (1, 5, 15 min) as each result was written: "
                    + "; ".join(str(x) for x in load if x)
                    + ". The machine may be shared: "
                    "compare them with the CPU figures below.",
                ]
                if load
                else []
            ),
            "",
            "## Method",
            "",
            METHOD,
            "## Results against the targets",
            "",
            *table,
            "",
            "Figures per run (CPU, memory, windows, samples) are in the JSON files:",
            "",
            *_details(results),
            "",
            "## Plots",
            "",
            *pictures,
            findings,
        ]
    )


def main() -> None:
    """docs/benchmarks.md from bench/results; a quick run's page stays beside its results."""
    directory = results_dir()
    doc = DOC if directory == RESULTS_DIR else directory / "benchmarks.md"
    doc.write_text(render(read_results(directory), directory / "plots", doc), encoding="utf-8")
    print(f"wrote {doc.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
