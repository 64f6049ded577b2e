"""The product's settings plus the bare baseline app and its URL. Nothing else differs, so the
hub's ingest endpoint and the bare view run with the same middleware, database and server."""

import os

from config.settings import *  # noqa: F403
from config.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.bareapp"]
ROOT_URLCONF = "bench.urls"

# Diagnostic knob (``python -m bench --db-conn``), the same for both sides. Unset: the database
# connection handling exactly as the product configures it.
_db_conn = os.environ.get("BENCH_DB_CONN", "")
if _db_conn in ("max-age-0", "pool"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if _db_conn == "pool":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 4, "max_size": 16}
