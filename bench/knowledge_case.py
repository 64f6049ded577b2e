"""``python -m bench --cases knowledge``: ``POST /api/v1/knowledge/answer/`` with 1,000 answers
in the base (issue #19: p95 < 50 ms).

The base: the 40 answers of eval/data/knowledge/kb.json plus generated variants of them (other
products, places and numbers in the same sentences), 1,000 published answers in all, imported
through ``import_knowledge``'s code (kept between runs: idempotent by key). The requests: the
labelled messages of the train split, sequential over one keep-alive connection, the bare POST
view (parse JSON, insert a row) alternated in the same run as the baseline.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

from bench import helpers as h

TARGET_P95_MS = 50.0
ANSWERS = 1000
ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "eval" / "data" / "knowledge"
_SWAPS = [
    ("frullatore", "tostapane"),
    ("blender", "toaster"),
    ("caraffa", "teiera"),
    ("jug", "teapot"),
    ("Milano", "Torino"),
    ("Milan", "Turin"),
    ("ordine", "abbonamento"),
    ("order", "subscription"),
    ("macchina", "centrifuga"),
    ("machine", "juicer"),
    ("bollitore", "sbattitore"),
    ("kettle", "whisk"),
    ("friggitrice", "griglia"),
    ("fryer", "grill"),
]


def _variant(item: dict, n: int, rng: random.Random) -> dict:
    swaps = rng.sample(_SWAPS, 4)

    def change(text: str) -> str:
        for old, new in swaps:
            text = text.replace(old, new)
        return f"{text} ({n})" if text else text

    return {
        **item,
        "key": f"{item['key']}-v{n}",
        "title": {k: change(v) for k, v in item["title"].items()},
        "body": {k: change(v) for k, v in item["body"].items()},
        "short": {k: change(v).removesuffix(f" ({n})") for k, v in item.get("short", {}).items()},
    }


def seed(log) -> int:
    from knowledge import importing
    from knowledge.models import Answer

    items = json.loads((DATA / "kb.json").read_text(encoding="utf-8"))
    rng = random.Random(19)
    records = list(items)
    n = 0
    while len(records) < ANSWERS:
        n += 1
        records.append(_variant(items[n % len(items)], n, rng))
    if Answer.objects.filter(status="published").count() >= ANSWERS:
        return Answer.objects.count()
    report = importing.import_records([(f"item {i}", r) for i, r in enumerate(records, 1)])
    log(f"  knowledge base: {report.created} created, {len(report.errors)} errors")
    from django.db import connection

    if connection.vendor == "postgresql":  # fresh planner statistics for the new rows
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE knowledge_answer")
            cursor.execute("ANALYZE knowledge_answertext")
    return Answer.objects.count()


def run_knowledge(args, server, token: str, log) -> dict:
    from bench import client

    answers = seed(log)
    messages = [
        json.loads(line)
        for line in (DATA / "train.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    n = max(args.requests, 100)
    rng = random.Random(7)
    bodies = [
        json.dumps({"text": m["text"], "channel": m["channel"]}).encode()
        for m in (rng.choice(messages) for _ in range(n))
    ]
    headers = {"Authorization": f"Token {token}"}
    url = f"{server.base_url}/api/v1/knowledge/answer/"
    bare_url = f"{server.base_url}/bench/bare/inbound/"
    latencies: dict[str, list[float]] = {"bare": [], "hub": []}
    errors = {"bare": 0, "hub": 0}
    first_error = ""
    for rnd, side in h.alternate(2):
        if side == "hub":
            burst = client.post_burst(url, bodies, headers, 1, 200)
        else:
            tag = uuid.uuid4().hex[:8]
            bare = [
                json.dumps(
                    {
                        "sender": {"address": "b"},
                        "text": json.loads(b)["text"],
                        "provider_message_id": f"k{tag}{i}",
                    }
                ).encode()
                for i, b in enumerate(bodies)
            ]
            burst = client.post_burst(bare_url, bare, {}, 1, 201)
        if rnd > 0 or side == "bare":  # the hub's first round warms the process's caches
            latencies[side].extend(burst.latencies_ms)
        errors[side] += burst.errors
        first_error = first_error or burst.first_error or ""
        lat = h.LatencySummary.of(burst.latencies_ms)
        log(f"  knowledge round {rnd + 1} {side:4}: p50 {lat.p50:.1f} ms, p95 {lat.p95:.1f} ms")
    hub = h.LatencySummary.of(latencies["hub"])
    bare = h.LatencySummary.of(latencies["bare"])
    return {
        "answers": answers,
        "requests": hub.count,
        "bare_p50_ms": round(bare.p50, 2),
        "bare_p95_ms": round(bare.p95, 2),
        "p50_ms": round(hub.p50, 2),
        "p95_ms": round(hub.p95, 2),
        "p99_ms": round(hub.p99, 2),
        "errors": errors["hub"],
        "first_error": first_error,
        "ok": hub.p95 < TARGET_P95_MS and not errors["hub"],
    }


def report(summary: dict, log) -> None:
    k = summary.get("knowledge")
    if not k:
        return
    log(
        f"Knowledge: POST /api/v1/knowledge/answer/ with {k['answers']} answers, sequential, "
        "labelled train messages"
    )
    log(
        h.format_table(
            ["bare p50", "bare p95", "p50 ms", "p95 ms", "p99 ms", "errors", "target"],
            [
                [
                    k["bare_p50_ms"],
                    k["bare_p95_ms"],
                    k["p50_ms"],
                    k["p95_ms"],
                    k["p99_ms"],
                    k["errors"],
                    f"{h.verdict(k['ok'])} (p95 < {TARGET_P95_MS:.0f} ms)",
                ]
            ],
        )
    )
    if k["first_error"]:
        log(f"  first error: {k['first_error']}")
    log("")
