"""Where the shared real-world corpora live (../shared/corpora next to the repository, or
HUB_CORPORA_DIR), and small helpers the email tests share."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

CORPORA = Path(
    os.environ.get("HUB_CORPORA_DIR", Path(__file__).resolve().parents[2] / "shared" / "corpora")
)
EMAIL_DIR = CORPORA / "email"
REPLIES_DIR = CORPORA / "replies"
ANYMAIL_DIR = CORPORA / "anymail"

if os.environ.get("CI") and not CORPORA.is_dir():
    # CI clones the repository with shared/ beside it: a missing corpus there is a broken set-up,
    # not a reason to skip the real-world tests.
    raise RuntimeError(f"CI run without the shared corpora at {CORPORA}")

needs_corpora = pytest.mark.skipif(
    not CORPORA.is_dir(), reason=f"shared corpora not found at {CORPORA}"
)


def raw_email_files() -> list[Path]:
    """Every raw message of the email corpus (cpython and other), not the index files."""
    if not EMAIL_DIR.is_dir():
        return []
    files = sorted((EMAIL_DIR / "cpython").glob("msg_*.txt"))
    files += sorted((EMAIL_DIR / "cpython").glob("*.mbox"))
    files += sorted((EMAIL_DIR / "other").glob("*.eml"))
    return files


def anymail_captures() -> list[Path]:
    if not ANYMAIL_DIR.is_dir():
        return []
    return sorted(p for p in ANYMAIL_DIR.glob("*/*.json") if p.parent.name != "test_files")


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))
