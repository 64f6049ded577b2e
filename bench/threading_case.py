"""``python -m bench --cases threading``: does ``import_mail`` rebuild the true email threads
whatever order the mail arrives in?

The corpus comes from the shared generator (``../shared/tools/gen_email_corpus.py``, outside
this repository; the case is skipped with the reason when it is absent), whose
``manifest.jsonl`` names every message's true thread. Each corpus is imported with ``manage.py
import_mail`` into a fresh PostgreSQL database (a copy of one migrated template) three times:

- **directory**: the order the file system lists the generated folder in (``os.listdir``);
- **date**: by the ``Date`` header (the generator's arrival order);
- **reverse date**: the newest first, every reply before the message it answers.

For each order: **split** = true threads whose messages ended in more than one conversation
(following merges), **mixed** = conversations holding messages of more than one true thread,
**lost** = messages not stored at all. The target of each is 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from bench import helpers as h

Log = Callable[[str], None]

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_email_corpus.py"
SUPPORT = "support@helpdesk.example.com"
# (messages, seed): the corpus (the generator's default seed) and a larger, other one.
CORPORA = [(2000, None), (3000, 7)]
ORDERS = ("directory", "date", "reverse date")


def _psql(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


def _fresh_database(base_url: str, name: str, template: str | None = None) -> str:
    from psycopg import sql

    admin = h.with_database(base_url, "postgres")
    _psql(admin, sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)).as_string())
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    _psql(admin, create.as_string())
    return h.with_database(base_url, name)


def _manage(env: dict, url: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        output = proc.stdout[-1500:] + proc.stderr[-1500:]
        raise RuntimeError(f"manage.py {args[0]} failed:\n{output}")
    return proc.stdout


# The mailbox, and the addresses its team writes from (the generator's agents), as an admin
# lists them.
TEAM = ["anna@helpdesk.example.com", "marco@helpdesk.example.com", "supporto@helpdesk.example.com"]
_SETUP = f"""
from hub.models import Channel, Endpoint, Team
team = Team.objects.create(slug="support", name="Support")
Endpoint.objects.create(channel=Channel.EMAIL, address="{SUPPORT}", name="Support", team=team,
                        settings={{"team_addresses": {TEAM!r}}})
"""


def _orders(folder: Path) -> dict[str, list[str]]:
    files = [name for name in os.listdir(folder) if name.endswith(".eml")]
    parser = BytesHeaderParser()

    def date_of(name: str):
        with open(folder / name, "rb") as handle:
            return parsedate_to_datetime(parser.parse(handle)["Date"]), name

    by_date = sorted(files, key=date_of)
    return {"directory": files, "date": by_date, "reverse date": by_date[::-1]}


def score(manifest: list[dict], stored: dict[str, int]) -> dict[str, int]:
    """Split, mixed and lost of ``stored`` (message id -> final conversation) against the
    manifest's true threads."""
    by_thread: dict[int, set[int]] = defaultdict(set)
    by_conversation: dict[int, set[int]] = defaultdict(set)
    lost = 0
    for row in manifest:
        conversation = stored.get(row["message_id"].strip("<>"))
        if conversation is None:
            lost += 1
            continue
        by_thread[row["thread"]].add(conversation)
        by_conversation[conversation].add(row["thread"])
    return {
        "split": sum(len(c) > 1 for c in by_thread.values()),
        "mixed": sum(len(t) > 1 for t in by_conversation.values()),
        "lost": lost,
    }


def _stored(url: str) -> dict[str, int]:
    """Message id -> the conversation it is in now (following merges)."""
    import psycopg

    with psycopg.connect(url) as conn:
        into = dict(conn.execute("SELECT id, merged_into_id FROM hub_conversation").fetchall())
        rows = conn.execute(
            "SELECT provider_message_id, conversation_id FROM hub_message WHERE kind = 'message'"
        ).fetchall()

    def final(conversation: int) -> int:
        for _hop in range(50):
            if not into.get(conversation):
                break
            conversation = into[conversation]
        return conversation

    return {message_id: final(conversation) for message_id, conversation in rows}


def run_threading(args, env: dict, log: Log) -> dict:
    if not GENERATOR.exists():
        log(f"  skipped: the generator {GENERATOR} is absent (../shared/ is not here)")
        return {"skipped": f"{GENERATOR} absent"}
    base_url = env["DATABASE_URL"]
    prefix = h.database_name(base_url)
    template = f"{prefix}_thr_tpl"
    template_url = _fresh_database(base_url, template)
    _manage(env, template_url, "migrate", "--verbosity", "0")
    _manage(env, template_url, "shell", "-c", _SETUP)
    results = []
    for size, seed in CORPORA:
        with tempfile.TemporaryDirectory(prefix="bench-thread-") as tmp:
            corpus = Path(tmp) / "corpus"
            command = [sys.executable, str(GENERATOR), str(corpus), "-n", str(size)]
            if seed is not None:
                command += ["--seed", str(seed)]
            subprocess.run(command, check=True, capture_output=True)
            manifest = [
                json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()
            ]
            label = f"-n {size}" + (f" --seed {seed}" if seed is not None else " (default seed)")
            for order, files in _orders(corpus).items():
                folder = Path(tmp) / order.replace(" ", "-")
                folder.mkdir()
                for position, name in enumerate(files, start=1):
                    os.symlink(corpus / name, folder / f"{position:06d}.eml")
                url = _fresh_database(base_url, f"{prefix}_thr", template)
                started = time.perf_counter()
                _manage(env, url, "import_mail", str(folder), "--no-progress")
                seconds = time.perf_counter() - started
                counts = score(manifest, _stored(url))
                threads = len({row["thread"] for row in manifest})
                results.append({"corpus": label, "order": order, "threads": threads,
                                "seconds": round(seconds, 1), **counts})  # fmt: skip
                log(f"  {label:<24} {order:<13} split {counts['split']:>3}  mixed "
                    f"{counts['mixed']:>3}  lost {counts['lost']:>3}  (of {threads} threads, "
                    f"{seconds:.0f} s)")  # fmt: skip
    admin = h.with_database(base_url, "postgres")
    for name in (f"{prefix}_thr", template):
        _psql(admin, f'DROP DATABASE IF EXISTS "{name}"')
    return {"runs": results, "met": all(r["split"] == r["mixed"] == r["lost"] == 0
                                        for r in results)}  # fmt: skip


def report(summary: dict, log: Log) -> None:
    data = summary.get("threading")
    if not data:
        return
    log("")
    if "skipped" in data:
        log(f"threading: skipped ({data['skipped']})")
        return
    log("| Corpus | Order | Split | Mixed | Lost | Target |")
    log("|---|---|---|---|---|---|")
    for run in data["runs"]:
        log(f"| {run['corpus']} ({run['threads']} threads) | {run['order']} | {run['split']} | "
            f"{run['mixed']} | {run['lost']} | 0 / 0 / 0 |")  # fmt: skip
    log(f"threading target (0 split, 0 mixed, 0 lost in every order): "
        f"{'met' if data['met'] else 'NOT met'}")  # fmt: skip
