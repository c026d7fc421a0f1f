#!/usr/bin/env python
"""Alert latency under the ingest benchmark's load: from the anomalous sample's arrival to the first
caregiver notification (red flags), and to the episode's check-in on the watch (a detected episode).

    make bench-alerts            # or: .venv/bin/python scripts/bench_alert_latency.py [--watches 1000] ...

Daphne + channels-redis + PostgreSQL + a Celery worker (celery and detection queues; niced as the
Procfile's, --worker-nice) + beat, as in production, on this machine. --watches simulated watches send a 5-sample frame every 5 s (the ingest
benchmark's phase A cadence) while probe wearers, each with a caregiver listening on the live feed,
raise alarms three ways:

- SOS: the watch sends an `sos` frame; clock stops when the caregiver's feed socket receives the page.
- Critical desaturation: the watch uploads a frame whose samples complete two minutes of SpO2 80%
  (the rule floor's red flag); the clock runs through ingest, the detection task on the worker,
  the episode, the first escalation step and the feed.
- Detected episode (issue 5's "sample stored to episode opened"): the watch uploads a frame whose
  samples complete two minutes of SpO2 86% (the rule floor's 88%, not a red flag), so it goes through
  the detection gate to a detection run, which opens the episode and asks the wearer. The clock stops
  when the watch receives the episode's "are you OK?" check-in on its own socket, sent once the
  episode is committed. With triage on (PULSERA_DETECTION_TRIAGE, the default) the run goes on the
  `urgent` queue (SpO2 below 92 %); with PULSERA_DETECTION_TRIAGE=false in the environment it waits
  its turn on `detection` behind every wearer's routine minute.

The caregiver's notification measured is the in-app page on their live feed, which is written in the
same transaction as the episode; the email/SMS/push sends that follow go through the delivery tasks
and providers and are not part of this figure. Needs PostgreSQL and Redis on 127.0.0.1 (database
`pulsera_bench` is recreated; Redis db 14 flushed). Results: var/bench/alert_latency.json (with every
probe's latency). BENCH_WORKER_LOG=info in the environment logs each task the main worker runs and
its duration (var/bench/alerts-worker.log), which is how the detection bursts were found.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import (  # the ingest benchmark's set-up and load generator
    BASE_DIR,
    WORKER_NICENESS,
    bench_setup,
    free_port,
    niced,
    percentile,
    processes_stop,
    results_write,
    run_watches,
    say,
    start,
    wait_port,
)


def probes_provision(count: int) -> tuple[list[dict], str, int]:
    """`count` probe wearers with watches in one family group, and a caregiver's API token."""
    from accounts.models import User
    from accounts.services import api_token_issue
    from groups.models import CareGroup, Membership
    from groups.services import group_create, member_add
    from vitals.services import device_register

    caregiver = User.objects.create_user(email="probe-caregiver@pulsera.bench", password=None, display_name="Probe")
    group = group_create(name="Latency probes", kind=CareGroup.Kind.FAMILY, created_by=caregiver)
    out = []
    for i in range(count):
        wearer = User.objects.create_user(email=f"probe-{i:03d}@pulsera.bench", password=None)
        member_add(group=group, user=wearer, role=Membership.Role.WEARER)
        _, token = device_register(wearer=wearer, name=f"probe {i}")
        out.append({"wearer_id": wearer.id, "token": token})
    return out, api_token_issue(user=caregiver).key, group.id


STOPS = {"sos": "caregiver's feed", "desaturation": "caregiver's feed", "episode": "check-in on the watch"}


def _minutes_of_spo2(spo2: int) -> dict:
    """A samples frame completing two whole minutes (and starting a third) of SpO2 `spo2`."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=3)
    samples = [
        {"sequence": s + 1, "timestamp": (start + timedelta(seconds=10 * s)).isoformat(),
         "spo2": spo2, "heart_rate": 78, "steps": 0}
        for s in range(int((now - start).total_seconds() // 10) + 1)
    ]  # fmt: skip
    return {"type": "samples", "id": 1, "samples": samples}


async def probe(args: argparse.Namespace, ingest: str, feed_url: str, probes: list[dict], token: str) -> dict:
    from websockets.asyncio.client import connect

    arrived: dict[int, float] = {}
    kinds = ("sos", "desaturation", "episode")
    sent: dict[str, dict[int, float]] = {kind: {} for kind in kinds}

    async def listen() -> None:
        async with connect(feed_url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as feed:
            async for raw in feed:
                message = json.loads(raw)
                if message.get("kind") == "alert.page":
                    arrived.setdefault(message["alert"]["wearer_id"], time.perf_counter())

    async def raise_one(kind: str, p: dict) -> None:
        async with connect(ingest, additional_headers={"Authorization": f"Device {p['token']}"}) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            frame = (
                {"type": "sos", "id": 1} if kind == "sos" else _minutes_of_spo2(80 if kind == "desaturation" else 86)
            )
            sent[kind][p["wearer_id"]] = time.perf_counter()
            await ws.send(json.dumps(frame))
            await asyncio.wait_for(ws.recv(), timeout=30)  # its ack / sos_ack
            if kind != "episode":
                return
            deadline = time.perf_counter() + args.drain + 30
            while (left := deadline - time.perf_counter()) > 0:  # the episode's check-in on this socket
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
                except TimeoutError:
                    return
                if message.get("type") == "checkin":
                    arrived.setdefault(p["wearer_id"], time.perf_counter())
                    return

    listener = asyncio.create_task(listen())
    started = time.perf_counter()
    await asyncio.sleep(args.warmup)
    third = len(probes) // len(kinds)
    gap = args.duration / third
    waiting = []
    for i in range(third):
        for k, kind in enumerate(kinds):
            waiting.append(asyncio.create_task(raise_one(kind, probes[k * third + i])))
        await asyncio.sleep(gap)
    await asyncio.sleep(args.drain)
    await asyncio.gather(*waiting, return_exceptions=True)
    listener.cancel()
    out = {}
    for kind, times in sent.items():
        latencies = [(arrived[w] - t) * 1000 for w, t in times.items() if w in arrived]
        out[kind] = {
            "latencies_ms": sorted(round(v) for v in latencies),
            "sent_at_s": [round(t - started, 1) for t in times.values()],
            # each probe in the order sent: when (s into the run) and its latency (null: never notified),
            # to tell a slow stretch of the run from slow probes spread over it
            "probes": [
                [round(t - started, 1), round((arrived[w] - t) * 1000) if w in arrived else None]
                for w, t in times.items()
            ],
            "sent": len(times),
            "notified": len(latencies),
            "p50_ms": percentile(latencies, 0.5),
            "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies, default=float("nan")),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watches", type=int, default=1000, help="background watches (5-sample frame every 5 s)")
    parser.add_argument(
        "--probes",
        type=int,
        default=120,
        help="probes raised (a third each: SOS, critical desaturation, detected episode)",
    )
    parser.add_argument("--duration", type=float, default=90, help="seconds over which the probes are spread")
    parser.add_argument("--warmup", type=float, default=20, help="seconds of load before the first probe")
    parser.add_argument("--drain", type=float, default=15, help="seconds to wait for the last notifications")
    parser.add_argument("--ramp", type=float, default=100, help="new background connections per second")
    parser.add_argument(
        "--urgent-worker", action="store_true", help="add a worker process that serves only the urgent queue (Procfile)"
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=WORKER_NICENESS,
        help=f"niceness of the main worker, which runs routine detection (Procfile: {WORKER_NICENESS}; 0 to compare)",
    )
    args = parser.parse_args()
    logs = BASE_DIR / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)

    say("Setting up: database pulsera_bench, Redis db 14, provisioning watches and probes...")
    bench_setup()
    from pulsera.devstack import DAPHNE_OPTIONS, daphne_endpoint
    from vitals.simulator.provision import watches_provision

    provisioned = watches_provision(args.watches)
    probes, token, group_id = probes_provision(args.probes)
    port = free_port()
    daphne = start(
        [sys.executable, "-m", "daphne", *DAPHNE_OPTIONS, "-e", daphne_endpoint("127.0.0.1", port), "pulsera.asgi:application"],
        logs / "alerts-daphne.log",
    )  # fmt: skip
    worker = start(
        niced([sys.executable, "-m", "celery", "-A", "pulsera", "worker", "-Q", "urgent,celery,detection", "--concurrency", "2",
               "-l", os.environ.get("BENCH_WORKER_LOG", "warning")], args.worker_nice),
        logs / "alerts-worker.log",
    )  # fmt: skip
    urgent = None
    if args.urgent_worker:
        urgent = start(
            [sys.executable, "-m", "celery", "-A", "pulsera", "worker", "-Q", "urgent", "--concurrency", "1",
             "-n", "urgent@%h", "-l", "warning"],
            logs / "alerts-urgent-worker.log",
        )  # fmt: skip
    beat = start([sys.executable, "-m", "celery", "-A", "pulsera", "beat", "-l", "warning", "--pidfile", ""],
                 logs / "alerts-beat.log")  # fmt: skip
    wait_port(port)
    ingest = f"ws://127.0.0.1:{port}/ws/v1/ingest/"
    feed = f"ws://127.0.0.1:{port}/ws/v1/groups/{group_id}/live/"
    results: dict[str, object] = {"machine": f"{os.cpu_count()} cores", "watches": args.watches,
                                  "urgent_worker": args.urgent_worker, "worker_nice": args.worker_nice,
                                  "triage": os.environ.get("PULSERA_DETECTION_TRIAGE", "true"),
                                  "date": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    try:
        say(
            f"Load: {args.watches} watches; {args.probes} probes over {args.duration:.0f} s after {args.warmup:.0f} s..."
        )

        async def both() -> tuple[dict, dict]:
            total = args.watches / args.ramp + args.warmup + args.duration + args.drain
            load = asyncio.create_task(
                run_watches(ingest, provisioned, duration=total, ramp_per_s=args.ramp, rate=1.0, batch=5.0)
            )
            await asyncio.sleep(args.watches / args.ramp)
            measured = await probe(args, ingest, feed, probes, token)
            return measured, await load

        measured, load = asyncio.run(both())
        results["latency"] = measured
        results["load"] = {k: v for k, v in load.items() if k != "watches"}
        say(f"   background: {load['frames_per_s']:.0f} frames/s, ack p50 {load['p50_ms']:.0f} ms, p99 {load['p99_ms']:.0f} ms,"
            f" reconnects {load['reconnects']}")  # fmt: skip
        for kind, row in measured.items():
            say(f"   {kind}: {row['notified']}/{row['sent']} notified; sample arrival -> {STOPS[kind]}"
                f" p50 {row['p50_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms, max {row['max_ms']:.0f} ms")  # fmt: skip
    finally:
        processes_stop([p for p in (daphne, worker, beat, urgent) if p is not None])
    results_write(logs / "alert_latency.json", results)


if __name__ == "__main__":
    main()
