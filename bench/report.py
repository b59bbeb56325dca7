"""Writes ``docs/benchmarks.md`` (method, machine, results against targets, plots, findings)
from ``bench/results/*.json``, with PNG plots in ``bench/results/plots/``. The findings are
kept by hand in ``bench/findings.md`` and copied in as they are.

Run: .venv/bin/python -m bench.report
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from bench.at_size import P95_TARGET_MS as AT_SIZE_P95_MS
from bench.common import BENCH_DIR, REPO_ROOT, RESULTS_DIR, Result, read_results, results_dir
from bench.email_ingest import TARGET_PER_S as EMAIL_TARGET_PER_S
from bench.ingest_load import BATCH_TARGET_PER_S, P95_LIMIT_S, SINGLE_TARGET_PER_S
from bench.latency import P50_TARGET_MS, P99_TARGET_MS
from bench.rules import TARGET_PER_S as RULES_TARGET_PER_S
from bench.smpp import P99_LIMIT_MS as SMPP_P99_LIMIT_MS
from bench.smpp import RECEIPT_TARGET_PER_S, SUBMIT_TARGET_PER_S
from bench.throughput import LIMIT_TARGET, SCALE_RSS_TARGET_MB, SCALE_TARGET
from bench.verdict import MIN_RUNS, Spread, above, all_of, at_least, below, verdict_text

DOC = REPO_ROOT / "docs" / "benchmarks.md"
PLOTS = RESULTS_DIR / "plots"
FINDINGS = BENCH_DIR / "findings.md"

METHOD = f"""\
`make bench` (or `.venv/bin/python bench/run_all.py [--quick] [--runs N]`) runs every
benchmark below in turn, writes one JSON file per benchmark to `bench/results/` and rewrites
this page. Nothing here runs in `make test`; `tests/unit/test_bench_smoke.py` only checks that
the harness works.

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
- **API ingest** drives `webui run` from an aiohttp client on the same machine; a rate is what
  was accepted divided by the seconds measured around the whole phase (`time.perf_counter`).
- **Email to SMS** drives `webui smtp` from 32 aiosmtplib connections kept open on the same
  machine (one recipient per mail, the loopback network allow-listed, mails written as bytes up
  front); a rate is mails answered 250 (their SMS committed) per second; *server CPU/mail* is
  the server's CPU time over the mails, *client* the load generator's. *others' CPU* is load
  this run did not make (not the client's).
- **SMPP** runs `webui smpp` against a migrated throwaway database and drives it from
  `bench/smpp_esme.py`, a client on our codec in a process of its own: one transceiver keeps
  10, then 100, `submit_sm` outstanding; the rate is the `ESME_ROK` answers over the seconds
  from the first request to the last answer, and the p99 is over every answer's latency.
  Receipts: a bound receiver acknowledges everything while final-state messages that asked for
  a receipt are committed; the rate is `deliver_sm` arrivals from the first to the last. CPU
  per submit (server, PostgreSQL backends) shows what a quieter machine could reach.
- **Jasmin** (`bench/jasmin_peer.py`) gets the same client, windows and message count: Jasmin
  from PyPI (pinned, in a virtualenv of its own under `~/.cache/smsgw-bench/`), a private
  RabbitMQ node and Redis server, a user, a connector and a default route set through jCli.
  The connector is never started, so `ESME_ROK` means the message was published to the
  connector's RabbitMQ queue, which is transient and unconfirmed (ours: committed to the
  database); the queue must hold every accepted message after the runs. CPU per submit is
  given for jasmind, RabbitMQ and Redis.
- Every message asks for a status report (the default); reports come back 200 ms (10 ms in the
  latency runs) after the `+CMGS` answer and are processed by the daemon during the runs.
- **Verdicts** (`bench/verdict.py`) are taken on the median of at least {MIN_RUNS} runs of each
  set-up (set-ups taken in turn, each run on a new database and new processes; at size, rounds
  of queries on one loaded database), on the unrounded figures the results files store per run.
  The table shows each median with the range of its runs, `median (min..max, n runs)`; a
  set-up measured fewer than {MIN_RUNS} times gets no verdict. The peers (6) run in rounds
  (gatewayd, then each peer, on fresh simulated modems); the verdict is whether the median of
  each round's ratio, our rate over the peer's, is over 1.
"""


def _groups(runs: list[Result], *keys: str) -> dict[tuple[Any, ...], list[Result]]:
    """The runs of each set-up (same values of ``keys``), in the order first met."""
    grouped: dict[tuple[Any, ...], list[Result]] = {}
    for run in runs:
        grouped.setdefault(tuple(run.get(k) for k in keys), []).append(run)
    return grouped


def _spread(runs: list[Result], key: str) -> Spread:
    return Spread.of(float(run[key]) for run in runs)


def _median(runs: list[Result], key: str) -> float:
    return _spread(runs, key).median if all(run.get(key) is not None for run in runs) else 0.0


def target_rows(results: dict[str, Result]) -> list[tuple[str, str, str, str]]:
    """(what, figure, target, verdict) for the summary table: each figure the median of the
    runs with their range; each verdict taken on the unrounded per-run figures."""
    rows: list[tuple[str, str, str, str]] = [
        (f"{name}", f"failed: {result.get('error', '?')[:200]}", "–", "**not measured**")
        for name, result in results.items()
        if result.get("failed")
    ]
    limit = results.get("limit", {}).get("runs", [])
    for (latency, messages, database), runs in _groups(
        limit, "latency_ms", "messages", "database"
    ).items():
        ratio = _spread(runs, "ratio")
        ceiling = [r for r in runs if r.get("simulator_ceiling") is not None]
        rows.append(
            (
                f"1. one modem, {latency:g} ms, {messages} msgs, {database}",
                f"ratio {ratio.text(4)}; {_spread(runs, 'rate_sms_per_s').median:.2f} of "
                f"{runs[0]['limit_sms_per_s']:g} SMS/s"
                + (
                    f"; {_spread(ceiling, 'share_of_ceiling').median:.3f} of the simulator's own "
                    f"ceiling ({_spread(ceiling, 'simulator_ceiling').text(4)})"
                    if ceiling
                    else ""
                )
                + f"; daemon {_median(runs, 'gatewayd_cpu_ms_per_part'):.2f} ms CPU/part; "
                f"others' CPU {_median(runs, 'other_cpu_percent'):.1f} %",
                f"median ≥ {LIMIT_TARGET}",
                verdict_text(at_least(ratio.values, LIMIT_TARGET), ratio.runs),
            )
        )
    scale = results.get("scale", {}).get("runs", [])
    for (modems, database), runs in _groups(scale, "modems", "database").items():
        ratio = _spread(runs, "ratio")
        rss = _spread(runs, "gatewayd_peak_rss_mb")
        met = all_of([at_least(ratio.values, SCALE_TARGET), below(rss.values, SCALE_RSS_TARGET_MB)])
        rows.append(
            (
                f"2. {modems} modems at 200 ms, {database}",
                f"ratio {ratio.text(4)}; peak RSS {rss.text(1, unit=' MB')}; daemon CPU "
                f"{_median(runs, 'gatewayd_cpu_percent'):.0f} %, "
                f"{_median(runs, 'gatewayd_cpu_ms_per_part'):.2f} ms CPU/part; simulator CPU "
                f"{_median(runs, 'simulator_cpu_percent'):.0f} %; PostgreSQL "
                f"{_median(runs, 'postgresql_cpu_percent'):.0f} %; others' CPU "
                f"{_median(runs, 'other_cpu_percent'):.0f} %",
                f"median ratio ≥ {SCALE_TARGET}, RSS < {SCALE_RSS_TARGET_MB:g} MB (at 64)",
                verdict_text(met, ratio.runs) if modems == 64 else "(info)",
            )
        )
    latency = results.get("latency", {}).get("runs", [])
    for (setup,), runs in _groups(latency, "setup").items():
        p50 = Spread.of(r["queue_latency"]["p50_ms"] for r in runs)
        p99 = Spread.of(r["queue_latency"]["p99_ms"] for r in runs)
        rows.append(
            (
                f"3. queue latency, {setup} ({runs[0]['sends']} sends per run)",
                f"p50 {p50.text(2, unit=' ms')}, p99 {p99.text(2, unit=' ms')}",
                f"median p50 < {P50_TARGET_MS:g} ms, p99 < {P99_TARGET_MS:g} ms",
                verdict_text(
                    all_of([below(p50.values, P50_TARGET_MS), below(p99.values, P99_TARGET_MS)]),
                    p50.runs,
                ),
            )
        )
    rows += _ingest_rows(results.get("ingest"))
    rows += _email_rows(results.get("email"))
    rows += _smpp_rows(results.get("smpp"))
    rows += _at_size_rows(results.get("at_size"))
    rows += _side_by_side_rows(results.get("side_by_side"))
    rows += _rules_rows(results.get("rules"))
    return rows


def _rules_rows(result: Result | None) -> list[tuple[str, str, str, str]]:
    if result is None or not result.get("measured", False):
        return []
    rows = []
    for (database,), runs in _groups(result.get("runs", []), "database").items():
        rate = _spread(runs, "per_s")
        rows.append(
            (
                f"7. Incoming SMS through {runs[0]['rules']} enabled rules, {database}",
                rate.text(0, thousands=True, unit=" messages/s"),
                f"median ≥ {RULES_TARGET_PER_S:,.0f}/s",
                verdict_text(at_least(rate.values, RULES_TARGET_PER_S), rate.runs),
            )
        )
    return rows


def _side_by_side_rows(result: Result | None) -> list[tuple[str, str, str, str]]:
    if result is None:
        return []
    runs = result.get("runs", [])
    ours = [r["rate_sms_per_s"] for r in runs if r["peer"] == "gatewayd"]
    rows = []
    if ours:
        rows.append(
            (
                "6. gatewayd, the same modem and messages",
                f"{Spread.of(ours).text(2, unit=' SMS/s')}",
                "(reference)",
                "–",
            )
        )
    for (peer,), peer_runs in _groups(runs, "peer").items():
        if peer == "gatewayd":
            continue
        rate = Spread.of(r["rate_sms_per_s"] for r in peer_runs)
        # a round where the peer sent nothing: ours is infinitely faster in it
        ratios = [
            math.inf if r["ours_over_peer"] is None else r["ours_over_peer"] for r in peer_runs
        ]
        rows.append(
            (
                f"6. {peer} beside gatewayd",
                f"{rate.text(2, unit=' SMS/s')}; ours ÷ theirs {Spread.of(ratios).text(1)}",
                "median ours ÷ theirs > 1",
                verdict_text(above(ratios, 1.0), rate.runs),
            )
        )
    return rows


def _email_rows(email: Result | None) -> list[tuple[str, str, str, str]]:
    if email is None:
        return []
    rows = []
    for (database,), runs in _groups(email.get("runs", []), "database").items():
        rate = _spread(runs, "per_s")
        client = (
            f", client {_median(runs, 'client_cpu_ms_per_mail'):.2f} ms"
            if all("client_cpu_ms_per_mail" in run for run in runs)
            else ""
        )
        rows.append(
            (
                f"7. email to SMS, {database}",
                f"{rate.text(0, thousands=True, unit=' mails/s')}; server "
                f"{_median(runs, 'server_cpu_ms_per_mail'):.2f} ms CPU/mail{client}; others' CPU "
                f"{_median(runs, 'other_cpu_percent'):.0f} %",
                f"median ≥ {EMAIL_TARGET_PER_S:g}/s",
                verdict_text(at_least(rate.values, EMAIL_TARGET_PER_S), rate.runs),
            )
        )
    return rows


def _ingest_rows(ingest: Result | None) -> list[tuple[str, str, str, str]]:
    if ingest is None:
        return []
    if not ingest.get("measured", False):
        return [
            (
                "4. API ingest",
                ingest.get("note", "not measured"),
                "≥ 2,000 POST/s (p95 < 200 ms); ≥ 20,000 recipients/s",
                "not measured",
            )
        ]
    rows = []
    for (database,), runs in _groups(ingest.get("runs", []), "database").items():
        if all("single_per_s" in r for r in runs):
            single = _spread(runs, "single_per_s")
            p95s = [r["single_p95_ms"] for r in runs if r["single_p95_ms"] is not None]
            unanswered = sum(lv.get("unanswered", 0) for r in runs for lv in r["levels"])
            rows.append(
                (
                    f"4. API ingest, single sends, {database}",
                    f"{single.text(0, thousands=True, unit=' POST/s')}, "
                    + (f"p95 {Spread.of(p95s).text(1, unit=' ms')}" if p95s else "no p95")
                    + (f"; {unanswered} requests unanswered in 30 s" if unanswered else ""),
                    f"median ≥ {SINGLE_TARGET_PER_S:,.0f}/s with p95 < {P95_LIMIT_S * 1000:g} ms",
                    verdict_text(at_least(single.values, SINGLE_TARGET_PER_S), single.runs),
                )
            )
        if all("batch_recipients_per_s" in r for r in runs):
            batch = _spread(runs, "batch_recipients_per_s")
            ways = {
                name: Spread.of(r["batches"][name]["recipients_per_s"] for r in runs)
                for name in runs[0]["batches"]
            }
            rows.append(
                (
                    f"4. API ingest, batches of {runs[0]['batch_size']:,}, {database}",
                    f"{batch.text(0, thousands=True, unit=' recipients/s')} (JSON list "
                    f"{ways['list'].median:,.0f}, CSV {ways['csv'].median:,.0f}); others' "
                    f"CPU {_median(runs, 'other_cpu_percent'):.0f} %",
                    f"median ≥ {BATCH_TARGET_PER_S:,.0f}/s",
                    verdict_text(at_least(batch.values, BATCH_TARGET_PER_S), batch.runs),
                )
            )
    return rows


def _smpp_rows(smpp: Result | None) -> list[tuple[str, str, str, str]]:
    if smpp is None:
        return []
    if smpp.get("failed"):
        return [("7. SMPP", f"failed: {smpp.get('error', '')[:200]}", "–", "no verdict")]
    rows = []
    for database, found in smpp.get("databases", {}).items():
        for window, runs in found.get("submit", {}).items():
            rate = _spread(runs, "per_s")
            p99 = _spread(runs, "p99_ms")
            cpu_us = Spread.of(r["server_cpu_s"] / r["accepted"] * 1e6 for r in runs)
            db_us = Spread.of(r["database_cpu_s"] / r["accepted"] * 1e6 for r in runs)
            load = Spread.of(r["load_average_1m"] for r in runs)
            target = f"p99 < {SMPP_P99_LIMIT_MS:g} ms"
            met = below(p99.values, SMPP_P99_LIMIT_MS)
            if database == "postgresql":
                target = f"median ≥ {SUBMIT_TARGET_PER_S:,.0f}/s, " + target
                met = all_of([at_least(rate.values, SUBMIT_TARGET_PER_S), met])
            rows.append(
                (
                    f"7. SMPP submit_sm, one transceiver, window {window}, {database}",
                    f"{rate.text(0, thousands=True, unit='/s')}, p99 {p99.text(1, unit=' ms')}; "
                    f"server CPU {cpu_us.median:.0f} µs/submit"
                    + (f", PostgreSQL {db_us.median:.0f} µs" if database == "postgresql" else "")
                    + f"; load {load.median:.1f}",
                    target,
                    verdict_text(met, rate.runs),
                )
            )
        receipts = found.get("receipts", [])
        if receipts:
            rate = _spread(receipts, "per_s")
            rows.append(
                (
                    f"7. SMPP receipts to a bound receiver, {database}",
                    f"{rate.text(0, thousands=True, unit=' deliver_sm/s')}",
                    f"median ≥ {RECEIPT_TARGET_PER_S:,.0f}/s",
                    verdict_text(at_least(rate.values, RECEIPT_TARGET_PER_S), rate.runs),
                )
            )
    for peer in ("kannel", "jasmin"):
        entry = smpp.get(peer)
        if entry is not None and not entry.get("measured", False):
            verdict = "**failed**" if entry.get("failed") else "–"
            rows.append((f"7. SMPP, {peer}", entry.get("note", "not measured"), "–", verdict))
        elif peer == "jasmin" and entry is not None:
            rows += _jasmin_rows(entry)
        elif entry is not None:
            accepted = _spread(entry["runs"], "accepted_per_s")
            through = _spread(entry["runs"], "end_to_end_per_s")
            rows.append(
                (
                    f"7. SMPP, {peer} as the ESME ({entry['runs'][0]['count']:,} messages, "
                    f"{entry['runs'][0]['simulated_modems']} simulated modems)",
                    f"accepted by us {accepted.text(0, thousands=True, unit='/s')}; end to end "
                    f"{through.text(1, unit='/s')} (the simulated modems' pace)",
                    "–",
                    "–",
                )
            )
    return rows


def _jasmin_rows(jasmin: Result) -> list[tuple[str, str, str, str]]:
    """Jasmin's SMPP server under the same client: rate, p99 and CPU per submit of jasmind,
    RabbitMQ and Redis, per window."""
    rows = []
    for window, runs in jasmin["submit"].items():
        rate = _spread(runs, "per_s")
        p99 = _spread(runs, "p99_ms")
        cpu_us = {
            name: Spread.of(r[f"{key}_cpu_s"] / r["accepted"] * 1e6 for r in runs).median
            for name, key in (("jasmind", "jasmind"), ("RabbitMQ", "rabbitmq"), ("Redis", "redis"))
        }
        load = Spread.of(r["load_average_1m"] for r in runs)
        rows.append(
            (
                f"7. SMPP submit_sm to Jasmin {jasmin['jasmin']}, one transceiver, window "
                f"{window} (queued in RabbitMQ {jasmin['rabbitmq']}, not durable)",
                f"{rate.text(0, thousands=True, unit='/s')}, p99 {p99.text(1, unit=' ms')}; "
                + ", ".join(f"{name} {us:.0f}" for name, us in cpu_us.items())
                + f" µs CPU/submit; load {load.median:.1f}",
                "–",
                "–",
            )
        )
    return rows


def _at_size_rows(size: Result | None) -> list[tuple[str, str, str, str]]:
    if not size:
        return []
    runs = size.get("runs") or [size]
    report = Spread.of(r["apply_status_report"]["p95_ms"] for r in runs)
    by_id = Spread.of(r["get_by_id"]["p95_ms"] for r in runs)
    pages = {
        name: Spread.of(r["list_by_status"][name]["p95_ms"] for r in runs)
        for name in runs[0]["list_by_status"]
    }
    worst_name, worst = max(pages.items(), key=lambda kv: kv[1].median)
    target = f"median p95 < {AT_SIZE_P95_MS:g} ms"
    return [
        (
            f"5. report matching, {size['messages']:,} messages",
            f"p95 {report.text(2, unit=' ms')}",
            target,
            verdict_text(below(report.values, AT_SIZE_P95_MS), report.runs),
        ),
        (
            "5. GET message by id",
            f"p95 {by_id.text(2, unit=' ms')}",
            target,
            verdict_text(below(by_id.values, AT_SIZE_P95_MS), by_id.runs),
        ),
        (
            "5. list by status, pages of 50",
            f"worst p95 {worst.text(2, unit=' ms')} ({worst_name})",
            target,
            verdict_text(
                all_of(below(p.values, AT_SIZE_P95_MS) for p in pages.values()), worst.runs
            ),
        ),
    ]


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
        one = _groups(limit, "latency_ms", "database")
        many = _groups(scale, "modems", "database")
        labels = [f"1 modem\n{lat:g} ms\n{db[:6]}" for lat, db in one]
        labels += [f"{n} modems\n200 ms\n{db[:6]}" for n, db in many]
        spreads = [_spread(runs, "ratio") for runs in [*one.values(), *many.values()]]
        medians = [s.median for s in spreads]
        axis.bar(
            labels,
            medians,
            yerr=[
                [m - s.low for m, s in zip(medians, spreads, strict=True)],
                [s.high - m for m, s in zip(medians, spreads, strict=True)],
            ],
            color=["#4477aa"] * len(one) + ["#66ccee"] * len(many),
        )
        axis.axhline(0.98, color="#cc3311", linestyle="--", label="target, one modem (0.98)")
        axis.axhline(0.95, color="#ee7733", linestyle=":", label="target, 64 modems (0.95)")
        axis.set_ylim(0, 1.05)
        axis.set_ylabel("achieved / limit")
        axis.legend(loc="lower left", fontsize=8)
        save(figure, "throughput.png", "Throughput as a share of the modems' limit (1 and 2)")
    if scale:
        figure, axis = plt.subplots(figsize=(8, 3.2))
        pg = {
            modems: runs
            for (modems, database), runs in _groups(scale, "modems", "database").items()
            if database == "postgresql"
        }
        xs = list(pg)
        for key, label in (
            ("gatewayd_cpu_percent", "gatewayd"),
            ("simulator_cpu_percent", "simulator"),
            ("postgresql_cpu_percent", "PostgreSQL"),
            ("other_cpu_percent", "other processes"),
            ("machine_cpu_percent", "whole machine"),
        ):
            axis.plot(xs, [_median(runs, key) for runs in pg.values()], marker="o", label=label)
        axis.axhline(200, color="grey", linestyle=":", label="2 cores")
        axis.set_xlabel("modems (PostgreSQL, 200 ms)")
        axis.set_ylabel("CPU, % of one core")
        axis.legend(fontsize=8)
        save(figure, "scale_cpu.png", "CPU while sending, by number of modems (2)")
    latency = results.get("latency", {}).get("runs", [])
    if latency:
        figure, axis = plt.subplots(figsize=(8, 3.2))
        for (setup,), runs in _groups(latency, "setup").items():
            samples = sorted(v for run in runs for v in run["samples_ms"])
            shares = [(i + 1) / len(samples) for i in range(len(samples))]
            axis.plot(samples, shares, label=f"{setup} ({len(runs)} runs)")
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
        rounds = size.get("runs") or [size]
        names = ["report match", "by id", *rounds[0]["list_by_status"]]
        values = [
            Spread.of(r["apply_status_report"]["p95_ms"] for r in rounds).median,
            Spread.of(r["get_by_id"]["p95_ms"] for r in rounds).median,
        ]
        values += [
            Spread.of(r["list_by_status"][name]["p95_ms"] for r in rounds).median
            for name in rounds[0]["list_by_status"]
        ]
        axis.barh(names, values, color="#4477aa")
        axis.axvline(10, color="#cc3311", linestyle="--", label="target p95 10 ms")
        axis.set_xscale("log")
        axis.set_xlabel("p95 (ms), median of the runs")
        axis.legend(fontsize=8)
        save(figure, "at_size.png", f"Queries with {size['messages']:,} messages stored (5)")
    side_runs = results.get("side_by_side", {}).get("runs", [])
    peers = [
        (peer, Spread.of(r["rate_sms_per_s"] for r in runs).median)
        for (peer,), runs in _groups(side_runs, "peer").items()
    ]
    if peers:
        figure, axis = plt.subplots(figsize=(8, 3.0))
        axis.bar(
            [name for name, _ in peers],
            [rate for _, rate in peers],
            color=["#228833" if name == "gatewayd" else "#bbbbbb" for name, _ in peers],
        )
        axis.axhline(20, color="#cc3311", linestyle="--", label="limit (20 SMS/s)")
        axis.set_yscale("log")
        axis.set_ylabel("SMS/s, median of the runs")
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
