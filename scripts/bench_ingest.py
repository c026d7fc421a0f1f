#!/usr/bin/env python
"""Ingest benchmark: simulated watches against Daphne + channels-redis + PostgreSQL + a Celery worker.

    make bench-ingest            # or: .venv/bin/python scripts/bench_ingest.py [--watches 2000] ...

Needs PostgreSQL and Redis on 127.0.0.1 (the database `pulsera_bench` is dropped and recreated; Redis
database 14 is flushed). Three phases, all in one run:

A. Target load: N watches (default 2,000), each sending a 5-sample frame every 5 s (1 Hz sampling),
   for --duration seconds after the ramp. Reports frames/s, samples/s stored, p50/p99 ack latency,
   Daphne's peak memory per connection, and checks in the database that every sample measured was
   stored exactly once.
B. Sustained throughput: closed-loop clients (each keeps --inflight frames of 5 samples in flight)
   against our ingest socket and against a bare echo consumer on the same Daphne; prints our
   samples/s as a ratio of the echo's.
C. Capacity: steps of connected watches at the target cadence until p99 ack latency reaches 1 s
   (or connections fail); reports the highest count that stayed under.

Everything runs on this machine, so the load generator shares the CPU with the server: the figures
are for the whole system on 2 cores, not for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
PG = "postgres://postgres@127.0.0.1:5432"
DB = "pulsera_bench"
REDIS_URL = "redis://127.0.0.1:6379/14"
ENV = {
    "DJANGO_SETTINGS_MODULE": "pulsera.settings",
    "DJANGO_DEBUG": "false",  # production settings: no debug cursor, no query log
    "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DATABASE_URL": f"{PG}/{DB}",
    "REDIS_URL": REDIS_URL,
    "PULSERA_BENCH_ECHO": "true",
    "PULSERA_DETECTION_ON_INGEST": "true",
    "LOG_LEVEL": "WARNING",
    "PYTHONUNBUFFERED": "1",
}
os.environ.update(ENV)


def procfile_niceness(process: str) -> int:
    """The niceness the Procfile gives one of its processes (`name: nice -n N ...`), 0 without."""
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        words = command.split()
        if name.strip() == process and words[:2] == ["nice", "-n"]:
            return int(words[2])
    return 0


WORKER_NICENESS = procfile_niceness("worker")  # the benchmarks' main worker runs as the Procfile's


def niced(argv: list[str], niceness: int) -> list[str]:
    """argv run at `niceness` (as is at 0)."""
    return ["nice", "-n", str(niceness), *argv] if niceness else argv


def say(text: str) -> None:
    print(text, flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- set-up -------------------------------------------------------------------------------------


def database_reset() -> None:
    import psycopg
    import redis

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, check=True, env={**os.environ})


def bench_setup() -> None:
    """A fresh database and Redis, Django set up, and this process's collector tuned like Daphne's
    (the load generator holds thousands of sockets too)."""
    database_reset()
    import django

    django.setup()
    from django.conf import settings as django_settings

    from pulsera.gc_tuning import gc_tune

    gc_tune(django_settings.PULSERA_GC_THRESHOLDS)


def processes_stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the benchmark's server processes, then kill any that have not exited in 30 s."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def results_write(path: Path, results: dict) -> None:
    path.write_text(json.dumps(results, indent=2, default=str))
    say(f"Results: {path}")


def start(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, cwd=BASE_DIR, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT
        )


def wait_port(port: int) -> None:
    for _ in range(300):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"Daphne never listened on {port}")


class RssSampler(threading.Thread):
    """Samples a process's resident memory every 0.5 s; `peak` since the last reset."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.peak = self.current = self.process.memory_info().rss
        self.running = True

    def run(self) -> None:
        while self.running:
            self.current = self.process.memory_info().rss
            self.peak = max(self.peak, self.current)
            time.sleep(0.5)

    def reset(self) -> int:
        self.peak = self.current = self.process.memory_info().rss
        return self.current


def detection_drain(limit: float = 300) -> None:
    """Wait until the worker has taken every queued detection task, so one phase's backlog does
    not run during (and slow) the next one."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    started = time.monotonic()
    while time.monotonic() - started < limit:
        waiting = sum(client.llen(key) for key in client.scan_iter("*") if client.type(key) == b"list")
        if not waiting:
            break
        time.sleep(1)
    if time.monotonic() - started > 2:
        say(f"   (waited {time.monotonic() - started:.0f} s for the worker to finish the queued detection tasks)")


# ---- phase A and C: watches at the target cadence ------------------------------------------------


async def run_watches(
    url: str | list[str], provisioned: list, *, duration: float, ramp_per_s: float, rate: float, batch: float
) -> dict:
    """`url` may list several Daphne processes: watches are spread over them, as a load balancer would."""
    urls = [url] if isinstance(url, str) else url
    from vitals.simulator.physiology import Person, Physiology
    from vitals.simulator.watch import SimulatedWatch

    watches = []
    for i, p in enumerate(provisioned):
        url = urls[i % len(urls)]
        rng = random.Random(p.device_id)
        watches.append(
            SimulatedWatch(
                url=url, token=p.token, physiology=Physiology(Person.random(rng), rng, off_wrist_per_hour=0),
                rate_hz=rate, batch_seconds=batch, first_sequence=p.next_sequence, name=str(p.device_id),
            )
        )  # fmt: skip
    ramp = len(watches) / ramp_per_s
    window_start = time.monotonic() + ramp + batch  # measure once everyone is connected and sending
    window_end = window_start + duration
    tasks = []
    for watch in watches:
        tasks.append(asyncio.create_task(watch.run(duration=window_end - time.monotonic())))
        await asyncio.sleep(1 / ramp_per_s)
    await asyncio.gather(*tasks)
    latencies, frames, samples = [], 0, 0
    by_second: dict[int, list[float]] = {}
    for w in watches:
        for at, latency, acked in w.stats.ack_log:
            if window_start <= at < window_end:
                latencies.append(latency)
                by_second.setdefault(int(at - window_start), []).append(latency)
                frames += 1
                samples += acked
    return {
        "watches": watches,
        "frames_per_s": frames / duration,
        "samples_per_s": samples / duration,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
        "reconnects": sum(w.stats.reconnects for w in watches),
        "throttled": sum(w.stats.throttled for w in watches),
        "unacked": sum(len(w.buffer) for w in watches),
        # p99 of the frames sent in each second of the window: shows whether slow acks are spread
        # out or come in bursts (for example when every wearer's minute completes at once)
        "p99_by_second": [
            round(percentile(by_second[i], 0.99)) if i in by_second else None for i in range(int(duration))
        ],
    }


def verify_exactly_once(watches: list) -> tuple[int, int, int]:
    """(measured, stored, missing) over the watches' devices: stored must equal measured."""
    from django.db.models import Count

    from vitals.models import VitalSample

    measured = {int(w.name): w.stats.generated_sequences for w in watches}
    counts = dict(
        VitalSample.objects.filter(
            device_id__in=list(measured), sequence__gte=min(min(s, default=0) for s in measured.values())
        )
        .values("device_id")
        .annotate(n=Count("id"))
        .values_list("device_id", "n")
    )
    missing = 0
    for device_id, sequences in measured.items():
        stored = set(
            VitalSample.objects.filter(device_id=device_id, sequence__in=list(sequences)).values_list("sequence", flat=True)
        ) if counts.get(device_id, 0) != len(sequences) else sequences  # fmt: skip
        missing += len(sequences - stored)
    total_measured = sum(len(s) for s in measured.values())
    return total_measured, total_measured - missing, missing


# ---- phase B: closed-loop throughput --------------------------------------------------------------


async def closed_loop(
    url: str, tokens: list[str] | None, *, connections: int, inflight: int, seconds: float, first_sequence: int = 0
) -> dict:
    from websockets.asyncio.client import connect

    done = 0
    stop_at = time.monotonic() + seconds + 3

    async def client(index: int) -> None:
        nonlocal done
        headers = {"Authorization": f"Device {tokens[index]}"} if tokens else {}
        seq = first_sequence + 1_000_000_000 * (index + 1)  # each round sends new samples
        for attempt in range(10):  # a busy server may refuse a handshake: retry like a watch would
            try:
                ws = await connect(url, additional_headers=headers, max_size=2**22, open_timeout=30)
                break
            except Exception:
                await asyncio.sleep(0.5 * (attempt + 1))
        else:
            return
        async with ws:
            if tokens:
                await ws.recv()  # hello

            async def send_one() -> None:
                nonlocal seq
                now = datetime.now(UTC)
                samples = []
                for i in range(5):
                    samples.append({"sequence": seq, "timestamp": (now - timedelta(milliseconds=200 * i)).isoformat(),
                                    "heart_rate": 70 + i, "spo2": 97})  # fmt: skip
                    seq += 1
                await ws.send(json.dumps({"type": "samples", "id": seq, "samples": samples}))

            for _ in range(inflight):
                await send_one()
            counting_from = time.monotonic() + 3  # warm-up
            while time.monotonic() < stop_at:
                message = json.loads(await ws.recv())
                if message.get("type") in ("ack", "samples") and time.monotonic() >= counting_from:
                    done += 1
                if message.get("type") == "throttle":
                    await asyncio.sleep(message["retry_after_ms"] / 1000)
                await send_one()

    await asyncio.gather(*(client(i) for i in range(connections)))
    return {"frames_per_s": done / seconds, "samples_per_s": 5 * done / seconds}


# ---- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watches", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=60, help="seconds measured in phase A")
    parser.add_argument("--steps", default="2000,3000,4000,5000,6000", help="phase C: watch counts to try")
    parser.add_argument("--step-duration", type=float, default=30)
    parser.add_argument("--connections", type=int, default=200, help="phase B: closed-loop connections")
    parser.add_argument("--inflight", type=int, default=4, help="phase B: frames in flight per connection")
    parser.add_argument("--throughput-seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=3, help="phase B: echo/ingest rounds (the median is reported)")
    parser.add_argument("--ramp", type=float, default=100, help="new connections per second")
    parser.add_argument("--skip", default="", help="phases to skip, e.g. BC")
    parser.add_argument("--processes", type=int, default=1, help="phase A: Daphne processes sharing the watches")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=WORKER_NICENESS,
        help=f"niceness of the worker, which runs routine detection (Procfile: {WORKER_NICENESS}; 0 to compare)",
    )
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",") if s]
    logs = BASE_DIR / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)

    say("Setting up: database pulsera_bench, Redis db 14, provisioning watches...")
    bench_setup()
    from pulsera.devstack import DAPHNE_OPTIONS, daphne_endpoint
    from vitals.simulator.provision import watches_provision

    provisioned = watches_provision(max([args.watches, args.connections, *steps]))
    port = free_port()
    web_env = {"PULSERA_WS_SAMPLES_PER_SECOND": "10000", "PULSERA_WS_BURST_SAMPLES": "20000"}
    daphne = start(
        [sys.executable, "-m", "daphne", *DAPHNE_OPTIONS, "-e", daphne_endpoint("127.0.0.1", port), "pulsera.asgi:application"],
        logs / "daphne.log", web_env,
    )  # fmt: skip
    worker = start(
        niced([sys.executable, "-m", "celery", "-A", "pulsera", "worker", "-Q", "urgent,celery,detection", "--concurrency", "1",
               "-l", "warning"], args.worker_nice),
        logs / "worker.log",
    )  # fmt: skip
    wait_port(port)
    rss = RssSampler(daphne.pid)
    rss.start()
    ingest = f"ws://127.0.0.1:{port}/ws/v1/ingest/"
    results: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "worker_nice": args.worker_nice,
    }
    try:
        if "A" not in args.skip:
            say(
                f"A. {args.watches} watches, a 5-sample frame every 5 s, {args.duration:.0f} s measured after the ramp..."
            )
            extra, urls = [], [ingest]
            for i in range(1, args.processes):  # more Daphne processes, the watches spread over them
                extra_port = free_port()
                argv = [sys.executable, "-m", "daphne", *DAPHNE_OPTIONS, "-e", daphne_endpoint("127.0.0.1", extra_port)]
                extra.append(start([*argv, "pulsera.asgi:application"], logs / f"daphne-{i}.log", web_env))
                wait_port(extra_port)
                urls.append(f"ws://127.0.0.1:{extra_port}/ws/v1/ingest/")
            say(f"   on {len(urls)} Daphne process(es)")
            baseline = rss.reset()
            a = asyncio.run(
                run_watches(
                    urls,
                    provisioned[: args.watches],
                    duration=args.duration,
                    ramp_per_s=args.ramp,
                    rate=1.0,
                    batch=5.0,
                )
            )
            for process in extra:
                process.terminate()
            measured, stored, missing = verify_exactly_once(a["watches"])
            per_connection = (rss.peak - baseline) / args.watches
            results["A"] = {k: v for k, v in a.items() if k != "watches"} | {
                "measured": measured, "stored": stored, "missing": missing, "kib_per_connection": per_connection / 1024,
            }  # fmt: skip
            say(
                f"   frames/s {a['frames_per_s']:.0f}  samples/s {a['samples_per_s']:.0f}  ack p50 {a['p50_ms']:.0f} ms"
                f"  p99 {a['p99_ms']:.0f} ms  max {a['max_ms']:.0f} ms  reconnects {a['reconnects']}  throttled {a['throttled']}"
            )
            say(f"   database: {measured} measured, {stored} stored exactly once, {missing} missing;"
                f" Daphne memory {per_connection / 1024:.0f} KiB per connection")  # fmt: skip
        detection_drain()
        time.sleep(10)  # let the server settle between phases
        if "B" not in args.skip:
            say(
                f"B. Closed loop: {args.connections} connections x {args.inflight} frames in flight,"
                f" {args.rounds} rounds of {args.throughput_seconds:.0f} s echo then {args.throughput_seconds:.0f} s ingest..."
            )
            tokens = [p.token for p in provisioned[: args.connections]]
            rounds = []
            for round_ in range(args.rounds):
                # The echo first in each round, on a quiet box: the worker may still be judging the
                # ingest run's samples afterwards, and that would slow the echo, not us.
                echo = asyncio.run(
                    closed_loop(f"ws://127.0.0.1:{port}/ws/bench/echo/", None, connections=args.connections, inflight=args.inflight, seconds=args.throughput_seconds)
                )  # fmt: skip
                ours = asyncio.run(
                    closed_loop(
                        ingest,
                        tokens,
                        connections=args.connections,
                        inflight=args.inflight,
                        seconds=args.throughput_seconds,
                        first_sequence=10_000_000 * (round_ + 1),
                    )
                )
                detection_drain()
                ratio = ours["samples_per_s"] / echo["samples_per_s"]
                rounds.append({"ours": ours, "echo": echo, "ratio": ratio})
                say(f"   round {round_ + 1}: ingest {ours['samples_per_s']:.0f} samples/s ({ours['frames_per_s']:.0f} frames/s);"
                    f" bare echo {echo['samples_per_s']:.0f} samples/s ({echo['frames_per_s']:.0f} frames/s): {ratio:.0%}")  # fmt: skip
            median = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
            results["B"] = median | {"rounds": rounds}
            say(f"   median round: ingest {median['ours']['samples_per_s']:.0f} samples/s, bare echo"
                f" {median['echo']['samples_per_s']:.0f} samples/s: ratio {median['ratio']:.0%}")  # fmt: skip
        time.sleep(10)
        if "C" not in args.skip:
            say("C. Capacity: watches at the target cadence until p99 reaches 1 s...")
            best = 0
            results["C"] = []
            for count in steps:
                step = asyncio.run(
                    run_watches(
                        ingest,
                        provisioned[:count],
                        duration=args.step_duration,
                        ramp_per_s=args.ramp,
                        rate=1.0,
                        batch=5.0,
                    )
                )
                row = {k: v for k, v in step.items() if k != "watches"} | {"watches": count}
                results["C"].append(row)  # type: ignore[union-attr]
                say(f"   {count} watches: p50 {step['p50_ms']:.0f} ms  p99 {step['p99_ms']:.0f} ms  frames/s {step['frames_per_s']:.0f}"
                    f"  reconnects {step['reconnects']}")  # fmt: skip
                if step["p99_ms"] >= 1000 or step["reconnects"] > 0.01 * count:
                    break
                best = count
                time.sleep(10)
            results["C_best"] = best
            say(
                f"   highest count with p99 under 1 s: {best}"
                + (" (the largest step tried)" if best == steps[-1] else "")
            )
    finally:
        rss.running = False
        processes_stop([daphne, worker])
    results_write(logs / "results.json", results)


if __name__ == "__main__":
    main()
