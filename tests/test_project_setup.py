"""The set-up a new user relies on: first-run bootstrap, process files, compose stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command

from hub.models import Endpoint, Team
from tests.markers import postgresql_feature

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_bootstrap_creates_the_demo_admin_once(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("bootstrap_hub")
    first = (tmp_path / "demo-admin.txt").read_text()
    call_command("bootstrap_hub")
    assert (tmp_path / "demo-admin.txt").read_text() == first
    User = get_user_model()
    admin = User.objects.get(username="admin")
    password = first.split("password: ")[1].split("\n")[0]
    assert admin.is_superuser and admin.check_password(password)
    assert "password:" in capsys.readouterr().out
    assert Team.objects.get(slug="support").members.filter(pk=admin.pk).exists()
    assert sorted(Endpoint.objects.values_list("channel", flat=True)) == [
        "api",
        "chat",
        "email",
        "sms",
        "whatsapp",
    ]


def _procfile(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_procfiles_run_web_worker_and_beat():
    production = _procfile("Procfile")
    embedded = _procfile("Procfile.embedded")
    assert set(production) == {"web", "worker", "webhooks", "beat"}
    assert set(embedded) == {"redis", "web", "worker", "webhooks", "beat"}
    assert "config.asgi:application" in production["web"]
    assert embedded["redis"] == "python -m config.embedded_redis"


def test_compose_stack_runs_every_process_from_one_image():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "webhooks", "beat"} <= set(services)
    hub_services = [services[name] for name in ("web", "worker", "webhooks", "beat", "migrate")]
    assert {s["image"] for s in hub_services} == {"conversation-hub:latest"}
    for service in hub_services:
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert "worker" in services["worker"]["command"] and "beat" in services["beat"]["command"]
    assert "worker" in services["webhooks"]["command"]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "DATABASE_URL" in ci and "REDIS_URL" in ci
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme


def _database_settings(**env: str) -> dict:
    """``DATABASES["default"]`` as config/settings.py builds it from ``env`` (nothing connects)."""
    script = (
        "import json, runpy; s = runpy.run_path('config/settings.py');"
        "print(json.dumps(s['DATABASES']['default'], default=str))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "HUB_DB"))}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_postgresql_settings_pool_and_server_side_binding():
    url = "postgres://hub@db.example:5432/hub"
    default = _database_settings(DATABASE_URL=url)
    assert default["ENGINE"] == "config.postgresql"
    assert default["CONN_MAX_AGE"] == 0
    assert default["OPTIONS"]["server_side_binding"] is True
    assert default["OPTIONS"]["pool"]["max_size"] == 16
    off = _database_settings(DATABASE_URL=url, HUB_DB_SERVER_SIDE_BINDING="0", HUB_DB_POOL_MAX="0")
    assert "server_side_binding" not in off.get("OPTIONS", {})
    assert "pool" not in off.get("OPTIONS", {})
    sqlite = _database_settings()
    assert sqlite["ENGINE"] == "django.db.backends.sqlite3"
    assert "server_side_binding" not in sqlite["OPTIONS"]


@postgresql_feature
@pytest.mark.django_db
def test_postgresql_keeps_prepared_statements_off():
    """Server-side binding without named prepared statements: a pooler in transaction mode and
    a column type changed by a migration under a running server keep working."""
    from django.db import connection

    connection.ensure_connection()
    assert connection.connection.prepare_threshold is None
    assert "ServerBinding" in connection.connection.cursor_factory.__name__
