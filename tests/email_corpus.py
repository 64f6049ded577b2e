"""Where the real-world corpora live (tests/data, copied from other projects: tests/data/SOURCES.md
names each file's origin and licence), and small helpers the email tests share."""

from __future__ import annotations

import json
from pathlib import Path

CORPORA = Path(__file__).resolve().parent / "data"
EMAIL_DIR = CORPORA / "email"
REPLIES_DIR = CORPORA / "replies"
ANYMAIL_DIR = CORPORA / "anymail"


def raw_email_files() -> list[Path]:
    """Every raw message of the email corpus (cpython and other), not the index files."""
    files = sorted((EMAIL_DIR / "cpython").glob("msg_*.txt"))
    files += sorted((EMAIL_DIR / "cpython").glob("*.mbox"))
    files += sorted((EMAIL_DIR / "other").glob("*.eml"))
    return files


def anymail_captures() -> list[Path]:
    return sorted(p for p in ANYMAIL_DIR.glob("*/*.json") if p.parent.name != "test_files")


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))
