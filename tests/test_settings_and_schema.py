"""Settings come from the environment; production refuses to start without a secret; the deploy
check is clean; the OpenAPI schema validates without warnings; the docs pages are served."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "pulsera.settings",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "q8#Zr4!vW2p@Lm9^Xs7&Kd3*Fh6(Tb1)Nc5_Jg0+Yw8=Ue2-Ra4~Io7",
    "DJANGO_ALLOWED_HOSTS": "pulsera.example.org",
    "ALLOWED_ORIGINS": "https://app.pulsera.example.org",
    "DATABASE_URL": "postgres://pulsera:secret@db.internal:5432/pulsera",
    "REDIS_URL": "redis://cache.internal:6379/0",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "PULSERA_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV}
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_the_deploy_check_is_clean_with_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    result = manage(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(out),
        env={**PRODUCTION_ENV, "DJANGO_DEBUG": "true"},
    )
    assert result.returncode == 0, result.stderr
    schema = out.read_text()
    for path in ("/api/v1/ingest/", "/api/v1/episodes/{episode_id}/acknowledge/", "/api/v1/invitations/join/"):
        assert path in schema


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/", "/api/schema/", "/"])
def test_the_docs_are_served_without_a_cdn(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert b"cdn.jsdelivr" not in response.content


def test_every_setting_read_from_the_environment_is_documented_in_env_example():
    import re

    root = Path(__file__).resolve().parent.parent
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', (root / "pulsera" / "settings.py").read_text()))
    read |= set(re.findall(r'_is_set\("([A-Z0-9_]+)"\)', (root / "pulsera" / "settings.py").read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (root / ".env.example").read_text(), flags=re.M))
    assert read - documented == set()


def test_the_procfile_runs_routine_detection_below_the_socket_server_and_the_red_flag_worker():
    """Routine detection comes in bursts at each minute's turn; on a saturated 2-core box its two
    processes took the CPU from Daphne and an SOS waited 8 s at 2,000 watches (docs/benchmarks.md).
    The worker that runs it is niced; the socket server and the red-flag worker are not."""
    processes = {}
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        processes[name.strip()] = command.split()
    worker = processes["worker"]
    assert worker[:3] == ["nice", "-n", "10"]
    assert "detection" in worker[worker.index("-Q") + 1].split(",")
    assert processes["web"][0] == "daphne"
    assert processes["urgent"][:2] == ["celery", "-A"]
    assert processes["urgent"][processes["urgent"].index("-Q") + 1] == "urgent"
