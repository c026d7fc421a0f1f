"""`manage.py simulate_watches`: simulated watches streaming realistic vitals over the watch socket.

    manage.py simulate_watches --wearers 3 --rate 1 --batch-seconds 5 --duration 600 \\
        --url ws://127.0.0.1:8000/ws/v1/ingest/ --anomalies desaturation@60+300:0 --offline-gaps 120+30

--anomalies  KIND@START[+DURATION][:WEARER], comma-separated; seconds from now; duration 300 s and
             wearer 0 by default. Kinds: tachycardia, bradycardia, hrv_collapse, desaturation, fall.
--offline-gaps START+DURATION, comma-separated: every watch drops its connection then (staggered by
             up to 10 s), keeps measuring, and backfills when it reconnects.

Devices are provisioned in this project's database (the demo wearers first, then sim-NNNN wearers)
with fresh tokens. Progress is printed every 10 s; at the end, a summary with ack latencies.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pulsera.gc_tuning import gc_tune
from vitals.simulator.physiology import ANOMALY_KINDS, Anomaly, Person, Physiology
from vitals.simulator.provision import watches_provision
from vitals.simulator.watch import OfflineGap, SimulatedWatch


def parse_anomalies(text: str, wearers: int, now: datetime) -> dict[int, list[Anomaly]]:
    result: dict[int, list[Anomaly]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            kind, rest = item.split("@", 1)
            rest, _, who = rest.partition(":")
            start, _, duration = rest.partition("+")
            wearer = int(who or 0)
            anomaly = Anomaly(kind, now + timedelta(seconds=float(start)), timedelta(seconds=float(duration or 300)))
        except ValueError as exc:
            raise CommandError(f"Bad anomaly {item!r}: use KIND@START[+DURATION][:WEARER], e.g. fall@30:1") from exc
        if kind not in ANOMALY_KINDS:
            raise CommandError(f"Unknown anomaly {kind!r}; choose from {', '.join(ANOMALY_KINDS)}.")
        if not 0 <= wearer < wearers:
            raise CommandError(f"Anomaly {item!r} names wearer {wearer}, but there are {wearers} (0-{wearers - 1}).")
        result.setdefault(wearer, []).append(anomaly)
    return result


def parse_gaps(text: str) -> list[OfflineGap]:
    gaps = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            start, duration = item.split("+")
            gaps.append(OfflineGap(float(start), float(duration)))
        except ValueError as exc:
            raise CommandError(f"Bad offline gap {item!r}: use START+DURATION in seconds, e.g. 60+30") from exc
    return gaps


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Command(BaseCommand):
    help = "Stream realistic vitals from simulated watches to a Pulsera server."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--wearers", type=int, default=3)
        parser.add_argument("--rate", type=float, default=1.0, help="samples per second per watch")
        parser.add_argument("--batch-seconds", type=float, default=5.0, help="seconds between frames")
        parser.add_argument("--duration", type=float, default=0, help="seconds to stream; 0 streams until Ctrl-C")
        parser.add_argument("--url", default="ws://127.0.0.1:8000/ws/v1/ingest/")
        parser.add_argument("--anomalies", default="", help="KIND@START[+DURATION][:WEARER],...")
        parser.add_argument("--offline-gaps", default="", help="START+DURATION,... (seconds)")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **o: Any) -> None:
        if o["wearers"] < 1 or o["rate"] <= 0 or o["batch_seconds"] <= 0:
            raise CommandError("--wearers, --rate and --batch-seconds must be positive.")
        now = datetime.now(UTC)
        anomalies = parse_anomalies(o["anomalies"], o["wearers"], now)
        gaps = parse_gaps(o["offline_gaps"])
        provisioned = watches_provision(o["wearers"])
        rng = random.Random(o["seed"])
        watches = []
        for index, p in enumerate(provisioned):
            person_rng = random.Random(rng.random())
            stagger = person_rng.uniform(0, min(10.0, o["batch_seconds"]))
            watches.append(
                SimulatedWatch(
                    url=o["url"],
                    token=p.token,
                    physiology=Physiology(Person.random(person_rng), person_rng, anomalies.get(index, [])),
                    rate_hz=o["rate"],
                    batch_seconds=o["batch_seconds"],
                    offline_gaps=[OfflineGap(g.start_s + stagger, g.duration_s) for g in gaps],
                    first_sequence=p.next_sequence,
                    name=p.wearer.split("@")[0],
                )
            )
        for index, items in anomalies.items():
            for a in items:
                self.stdout.write(
                    f"  anomaly: {a.kind} for {provisioned[index].wearer} at {a.start:%H:%M:%S} for {a.duration}"
                )
        gc_tune(settings.PULSERA_GC_THRESHOLDS)  # thousands of watches: no long GC pauses in the client either
        self.stdout.write(f"Streaming {len(watches)} watches to {o['url']} (Ctrl-C to stop)...")
        try:
            asyncio.run(self._run(watches, o["duration"] or None))
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        self._summary(watches)

    async def _run(self, watches: list[SimulatedWatch], duration: float | None) -> None:
        tasks = [asyncio.create_task(w.run(duration)) for w in watches]
        started = time.monotonic()
        while not all(t.done() for t in tasks):
            await asyncio.wait(tasks, timeout=10)
            if not all(t.done() for t in tasks):
                self._progress(watches, time.monotonic() - started)
        for task in tasks:
            task.result()

    def _progress(self, watches: list[SimulatedWatch], elapsed: float) -> None:
        acked = sum(w.stats.acked for w in watches)
        backlog = sum(len(w.buffer) for w in watches)
        latencies = [x for w in watches for x in w.stats.ack_latencies_ms[-200:]]
        self.stdout.write(
            f"  {elapsed:6.0f}s  acked {acked}  buffered {backlog}  throttled {sum(w.stats.throttled for w in watches)}"
            f"  reconnects {sum(w.stats.reconnects for w in watches)}"
            f"  ack p50 {percentile(latencies, 0.5):.0f} ms  p99 {percentile(latencies, 0.99):.0f} ms"
        )

    def _summary(self, watches: list[SimulatedWatch]) -> None:
        latencies = [x for w in watches for x in w.stats.ack_latencies_ms]
        generated = sum(w.stats.generated for w in watches)
        acked = sum(w.stats.acked for w in watches)
        self.stdout.write(
            f"Done: {generated} samples measured, {acked} acknowledged, {sum(len(w.buffer) for w in watches)} still "
            f"buffered, {sum(w.stats.rejected for w in watches)} rejected; frames {sum(w.stats.frames_sent for w in watches)}; "
            f"ack latency p50 {percentile(latencies, 0.5):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms, "
            f"mean {statistics.fmean(latencies) if latencies else float('nan'):.0f} ms."
        )
