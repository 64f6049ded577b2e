"""What the tests that run real processes share: a free loopback port, the test database's URL
for a subprocess (uvicorn, Celery), and Debian's Chromium for the browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from django.db import connection

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """The test database, as a ``DATABASE_URL`` a subprocess can use."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = db["USER"] or "postgres"
        auth = f"{user}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{user}@"
        return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    # As settings configure SQLite: writers queue (BEGIN IMMEDIATE) instead of failing "locked".
    return f"sqlite:///{db['NAME']}?timeout=20&transaction_mode=IMMEDIATE"


test_database_url.__test__ = False  # a helper, not a test


def ensure_chromium() -> str | None:
    """Debian's Chromium, installed with apt when missing (never Playwright's own download)."""
    if not Path(CHROMIUM).exists() and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
            subprocess.run(install, env=env, capture_output=True, check=False)
    return CHROMIUM if Path(CHROMIUM).exists() else None


def route_to_queues(prefix: str | None) -> str:
    """Send this process's Celery tasks to the queues named with ``prefix`` (a test's own,
    ``None``: the configured ones again), as a worker started with ``HUB_CELERY_QUEUE=prefix``
    routes them. Returns the worker's ``-Q`` argument: all of those queues."""
    from django.conf import settings

    from config import queues
    from config.celery import app

    prefix = prefix or settings.HUB_CELERY_QUEUE_PREFIX
    app.conf.task_default_queue = queues.name(queues.MAINTENANCE, prefix)
    app.conf.task_routes = queues.routes(prefix)
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)  # built from the routes on first use
    return ",".join(queues.names(prefix))
