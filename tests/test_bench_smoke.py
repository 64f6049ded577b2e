"""The benchmark's pure helpers (no server, no database): ``make bench`` relies on them."""

from __future__ import annotations

import json

import pytest

from bench import helpers as h
from bench.main import parse_args


def test_percentile_interpolates_like_numpy():
    values = [10, 1, 4, 3, 2, 9, 8, 7, 6, 5]
    assert h.percentile(values, 0) == 1
    assert h.percentile(values, 100) == 10
    assert h.percentile(values, 50) == pytest.approx(5.5)
    assert h.percentile(values, 95) == pytest.approx(9.55)
    assert h.percentile([42], 95) == 42
    assert h.median([3, 1, 2]) == 2


@pytest.mark.parametrize("bad", [[], None])
def test_percentile_refuses_empty_input(bad):
    with pytest.raises(ValueError):
        h.percentile(bad or [], 50)


def test_percentile_refuses_out_of_range():
    with pytest.raises(ValueError):
        h.percentile([1, 2], 101)


def test_latency_summary():
    summary = h.LatencySummary.of([float(i) for i in range(1, 101)])
    assert summary.count == 100
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p95 == pytest.approx(95.05)
    assert summary.max == 100
    assert summary.mean == pytest.approx(50.5)


def test_payloads_are_valid_inbound_bodies_from_a_few_hundred_senders():
    bodies = h.make_payloads(2000, endpoint_id=7, senders=300, prefix="t")
    assert len(bodies) == 2000
    senders = {b["sender"]["address"] for b in bodies}
    assert len(senders) == 300  # every sender writes at least once
    assert len({b["provider_message_id"] for b in bodies}) == 2000
    first = bodies[0]
    assert set(first) == {"endpoint", "sender", "text", "provider_message_id"}
    assert first["endpoint"] == 7
    assert first["sender"]["kind"] == "api"
    assert first["text"].strip()
    assert all(len(b["provider_message_id"]) <= 255 for b in bodies)
    encoded = h.encode_bodies(bodies[:3])
    assert json.loads(encoded[1]) == bodies[1]


def test_payloads_are_deterministic_and_prefixed():
    one = h.make_payloads(50, endpoint_id=1, senders=10, prefix="a", seed=3)
    assert one == h.make_payloads(50, endpoint_id=1, senders=10, prefix="a", seed=3)
    other = h.make_payloads(50, endpoint_id=1, senders=10, prefix="b", seed=3)
    assert not {b["provider_message_id"] for b in one} & {b["provider_message_id"] for b in other}
    assert not {b["sender"]["address"] for b in one} & {b["sender"]["address"] for b in other}
    with pytest.raises(ValueError):
        h.make_payloads(5, endpoint_id=1, senders=0, prefix="x")


def test_runs_alternate_sides():
    assert h.alternate(2) == [(0, "bare"), (0, "hub"), (1, "bare"), (1, "hub")]


def test_side_summary_takes_the_median_rate():
    runs = [
        h.LoadRun("hub", 100, 1.0, latencies_ms=[1.0, 2.0], db_sessions=100),
        h.LoadRun("hub", 100, 2.0, errors=10, latencies_ms=[3.0], db_sessions=100),
        h.LoadRun("hub", 100, 0.5, latencies_ms=[4.0], db_sessions=100),
    ]
    summary = h.side_summary(runs)
    assert summary["rates"] == [100.0, 45.0, 200.0]
    assert summary["median_rate"] == 100.0
    assert summary["errors"] == 10
    assert summary["p50_ms"] == 2.5
    assert summary["db_sessions_per_request"] == 1.0
    assert h.ratio(50, 100) == 0.5
    assert h.ratio(1, 0) == 0.0
    assert h.verdict(True) == "OK"
    assert h.verdict(False) == "MISSED"


def test_database_url_helpers():
    url = "postgres://postgres@127.0.0.1:5432/hub_bench?sslmode=disable"
    assert h.database_name(url) == "hub_bench"
    assert h.with_database(url, "postgres") == (
        "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
    )


def test_format_table_aligns_columns():
    text = h.format_table(["name", "ms"], [["a", "1.0"], ["longer", "22.5"]])
    lines = text.splitlines()
    assert lines[0].startswith("name")
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].endswith(" 1.0")
    assert lines[3] == "longer  22.5"
    assert len({len(line) for line in lines[1:]}) == 1


def test_cli_defaults_and_quick():
    full = parse_args([])
    assert (full.n, full.conversations, full.messages, full.rounds) == (2000, 100_000, 1_000_000, 3)
    assert full.db_conn == "as-configured"
    quick = parse_args(["--quick"])
    assert (quick.n, quick.conversations, quick.messages) == (200, 5_000, 50_000)
    assert parse_args(["--quick", "--n", "50"]).n == 50
    with pytest.raises(SystemExit):
        parse_args(["--n", "0"])


def test_top_errors_counts_exception_lines():
    log = "\n".join(
        [
            "Internal Server Error: /api/v1/inbound/",
            "Traceback (most recent call last):",
            "psycopg.OperationalError: connection failed: FATAL:  sorry, too many clients already",
            "django.db.utils.OperationalError: connection failed: FATAL:  sorry, too many clients",
            "psycopg.OperationalError: connection failed: FATAL:  sorry, too many clients already",
            "    raise KeyError('x')",
        ]
    )
    top = h.top_errors(log)
    assert top[0] == (
        2,
        "psycopg.OperationalError: connection failed: FATAL:  sorry, too many clients already",
    )
    assert len(top) == 2
    assert h.top_errors("all good") == []


def test_unexpected_answers_are_described_briefly():
    from bench.client import describe

    assert describe(500, b"\n<!doctype html><html>...</html>") == (
        "HTTP 500 (HTML error page; see the server log)"
    )
    assert describe(400, b'{"text": ["Give text or html."]}') == (
        'HTTP 400: {"text": ["Give text or html."]}'
    )


def test_threading_score_counts_split_mixed_and_lost():
    from bench.threading_case import score

    manifest = [
        {"message_id": "<a1@x>", "thread": 1},
        {"message_id": "<a2@x>", "thread": 1},  # split from a1
        {"message_id": "<b1@x>", "thread": 2},  # mixed with a2's conversation
        {"message_id": "<c1@x>", "thread": 3},  # lost
    ]
    stored = {"a1@x": 10, "a2@x": 11, "b1@x": 11}
    assert score(manifest, stored) == {"split": 1, "mixed": 1, "lost": 1}
    assert score(manifest[:1], {"a1@x": 10}) == {"split": 0, "mixed": 0, "lost": 0}
