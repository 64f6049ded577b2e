"""``python -m bench``: the hub's ingest rate against a bare Django view, then read latency.

1. Ingest: one uvicorn process (``config.asgi:application``, settings ``bench.settings`` = the
   product's settings + the bare app) on 127.0.0.1, PostgreSQL and Redis. N inbound messages
   from a few hundred senders go to ``POST /api/v1/inbound/`` and the same N bodies to the bare
   view (parse JSON, insert one row), alternately (bare, hub, bare, hub, ...); the median rate
   per side and their ratio are reported. No Celery worker runs: with no webhook subscription
   ingest queues no Celery task; with ``--webhook`` one subscription exists and its tasks are
   queued to Redis (and purged afterwards).
2. Read: a bulk seed (100k conversations / 1M messages by default, kept between runs), then
   p50/p95 of the conversation list (plain, status filter, next page, an agent's view) and of
   random conversations' timelines, sequential requests over one keep-alive connection.
3. Knowledge (``--cases knowledge``): ``POST /api/v1/knowledge/answer/`` with 1,000 answers
   (bench/knowledge_case.py).
4. Understanding (``--cases understanding``, no server and no database when alone): the CPU
   time of ``understanding.analyse`` per message over the labelled texts, p50/p99.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import time
from pathlib import Path

from bench import helpers as h

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hub_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
INGEST_ADDRESS = "bench-ingest"
WEBHOOK_URL = "http://127.0.0.1:9/bench-webhook"  # discard port: tasks are only queued


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, help="inbound messages per run (default 2000)")
    parser.add_argument("--senders", type=int, default=300, help="distinct senders per run")
    parser.add_argument("--concurrency", type=int, default=12, help="client connections")
    parser.add_argument("--rounds", type=int, help="runs per side, alternated (default 3)")
    parser.add_argument("--conversations", type=int, help="seeded conversations (100000)")
    parser.add_argument("--messages", type=int, help="seeded messages (1000000)")
    parser.add_argument("--requests", type=int, help="GETs per read probe (default 300)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: N=200, 5k/50k seed, 2 rounds, 100 GETs "
        "(database hub_bench_quick unless DATABASE_URL is set)",
    )
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="one webhook subscription: ingest also queues Celery tasks",
    )
    parser.add_argument(
        "--db-conn",
        choices=["as-configured", "max-age-0", "pool"],
        default="as-configured",
        help="database connections of the server (both sides): as the product configures them "
        "(default), CONN_MAX_AGE=0, or Django's psycopg pool (needs psycopg-pool)",
    )
    parser.add_argument("--reseed", action="store_true", help="seed again even if present")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-read", action="store_true")
    parser.add_argument("--chat-sockets", type=int, help="visitor sockets (1000)")
    parser.add_argument("--chat-replies", type=int, default=200, help="timed agent replies")
    parser.add_argument(
        "--cases",
        default="ingest,read,sms,chat,email,sla,threading,knowledge,understanding",
        help="comma-separated cases to run (default: all)",
    )
    parser.add_argument("--email-sizes", help="emails per import_mail run (1000,10000)")
    parser.add_argument("--sla-open", help="open conversations per sweep case (10000,1000000)")
    parser.add_argument("--sla-due", type=int, help="due conversations per sweep (1000)")
    parser.add_argument(
        "--sla-lag-conversations",
        type=int,
        default=300,
        help="conversations for the beat+worker lag case",
    )
    args = parser.parse_args(argv)
    args.cases = {c.strip() for c in args.cases.split(",") if c.strip()}
    if args.skip_ingest:
        args.cases.discard("ingest")
    if args.skip_read:
        args.cases.discard("read")
    args.email_sizes = [
        int(x)
        for x in (args.email_sizes or ("200,1000" if args.quick else "1000,10000")).split(",")
    ]
    args.sla_open = [
        int(x)
        for x in (args.sla_open or ("2000,20000" if args.quick else "10000,1000000")).split(",")
    ]
    args.sla_due = args.sla_due or (100 if args.quick else 1000)
    args.chat_sockets = args.chat_sockets or (100 if args.quick else 1000)
    quick = args.quick
    defaults = {
        "n": 200 if quick else 2000,
        "rounds": 2 if quick else 3,
        "conversations": 5_000 if quick else 100_000,
        "messages": 50_000 if quick else 1_000_000,
        "requests": 100 if quick else 300,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.n < 1 or args.rounds < 1 or args.concurrency < 1 or args.requests < 1:
        parser.error("--n, --rounds, --concurrency and --requests must be positive")
    if args.conversations < 50 or args.messages < args.conversations:
        parser.error("seed at least 50 conversations and as many messages")
    return args


def log(text: str) -> None:
    print(text, flush=True)


# --- set-up -----------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """Create the database of ``url`` if missing (connecting to the ``postgres`` database)."""
    import psycopg
    from psycopg import sql

    name = h.database_name(url)
    with psycopg.connect(h.with_database(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log(f"created database {name}")


def setup_django(database_url: str, redis_url: str, db_conn: str) -> dict[str, str]:
    """Configure this process like the server; return the server's environment."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
        "BENCH_DB_CONN": "" if db_conn == "as-configured" else db_conn,
        # Every bench client is 127.0.0.1: no per-address chat limits; a queue of its own.
        "HUB_CHAT_CONNECTS_PER_MINUTE_PER_IP": "0",
        "HUB_CHAT_SESSIONS_PER_MINUTE_PER_IP": "0",
        "HUB_CHAT_REQUESTS_PER_MINUTE_PER_IP": "0",
        "HUB_CELERY_QUEUE": f"bench-{os.getpid()}",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    os.environ.update(env)
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return env


def ingest_fixtures(webhook: bool) -> dict:
    """The superuser, its token, the api endpoint, a clean slate from earlier runs."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from rest_framework.authtoken.models import Token

    from crm.models import Contact
    from hub.models import Channel, Conversation, Endpoint, Team, WebhookSubscription

    User = get_user_model()
    admin = User.objects.filter(username="bench-admin").first()
    if admin is None:
        admin = User.objects.create_superuser("bench-admin", "bench-admin@bench.example", None)
    token, _ = Token.objects.get_or_create(user=admin)
    team, _ = Team.objects.get_or_create(slug="bench-ingest", defaults={"name": "Bench ingest"})
    team.members.add(admin)
    endpoint, _ = Endpoint.objects.get_or_create(
        channel=Channel.API,
        address=INGEST_ADDRESS,
        defaults={"name": "Bench ingest", "team": team},
    )
    # What earlier runs ingested (a few thousand rows; the ORM follows every relation).
    with transaction.atomic():
        Conversation.objects.filter(endpoint=endpoint).delete()
        Contact.objects.filter(
            identities__kind="api", identities__value__startswith="bench-"
        ).delete()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE bench_bareapp_baremessage")
    WebhookSubscription.objects.filter(url=WEBHOOK_URL).delete()
    if webhook:
        WebhookSubscription.objects.create(url=WEBHOOK_URL, description="bench (never delivered)")
    return {"token": token.key, "endpoint": endpoint.pk}


def db_sessions() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cur.fetchone()[0])


def purge_celery_queue() -> int:
    from config.celery import app

    return app.control.purge() or 0


# --- phases -----------------------------------------------------------------------------------


def run_ingest(args, server, fx: dict) -> dict:
    from bench import client
    from bench.server import cpu_seconds

    urls = {
        "bare": f"{server.base_url}/bench/bare/inbound/",
        "hub": f"{server.base_url}/api/v1/inbound/",
    }
    headers = {"Authorization": f"Token {fx['token']}"}
    tag = f"{int(time.time()) % 10**6:06d}"

    # Warm-up of both paths (imports, first connections); also a check that both answer 201.
    warm = h.encode_bodies(
        h.make_payloads(100, endpoint_id=fx["endpoint"], senders=20, prefix=f"{tag}-warm")
    )
    for side in ("bare", "hub"):
        burst = client.post_burst(urls[side], warm, headers, args.concurrency)
        if burst.errors:
            raise RuntimeError(f"{side} warm-up: {burst.errors} errors, {burst.first_error}")

    runs: dict[str, list[h.LoadRun]] = {"bare": [], "hub": []}
    cpu_ms: dict[str, list[float]] = {"bare": [], "hub": []}
    bodies: list[bytes] = []
    for rnd, side in h.alternate(args.rounds):
        if side == "bare":  # the pair of runs of a round posts the very same bodies
            bodies = h.encode_bodies(
                h.make_payloads(
                    args.n,
                    endpoint_id=fx["endpoint"],
                    senders=args.senders,
                    prefix=f"{tag}-r{rnd}",
                    seed=rnd,
                )
            )
        sessions_before = db_sessions()
        cpu_before = cpu_seconds(server.pid)
        burst = client.post_burst(urls[side], bodies, headers, args.concurrency)
        cpu_after = cpu_seconds(server.pid)
        time.sleep(1.2)  # backends report their stats at most once a second
        run = h.LoadRun(
            side,
            len(bodies),
            burst.seconds,
            burst.errors,
            burst.latencies_ms,
            db_sessions=db_sessions() - sessions_before,
        )
        runs[side].append(run)
        if cpu_before is not None and cpu_after is not None:
            cpu_ms[side].append((cpu_after - cpu_before) * 1000 / len(bodies))
        log(
            f"  round {rnd + 1} {side:4}: {run.rate:7.1f} msg/s  ({burst.seconds:.2f}s, "
            f"{burst.errors} errors{', ' + burst.first_error if burst.errors else ''})"
        )
    result = {side: h.side_summary(runs[side]) for side in runs}
    for side in runs:
        result[side]["server_cpu_ms_per_msg"] = (
            round(h.median(cpu_ms[side]), 2) if cpu_ms[side] else None
        )
    result["ratio"] = round(h.ratio(result["hub"]["median_rate"], result["bare"]["median_rate"]), 3)
    result["target_ratio"] = h.INGEST_TARGET_RATIO
    result["ok"] = result["ratio"] >= h.INGEST_TARGET_RATIO
    result.update(
        n=args.n,
        senders=args.senders,
        concurrency=args.concurrency,
        rounds=args.rounds,
        webhook=args.webhook,
    )
    return result


def _inbox_probes(server, agent_user, rng) -> list:
    """The agent UI's pages (issue 8: p95 under 100 ms at 100k conversations), with a session
    cookie made here against the same database, as a logged-in agent's browser would send."""
    from django.test import Client

    from bench import client
    from hub.selectors import visible_conversations

    browser = Client()
    browser.force_login(agent_user)
    cookie = {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}
    client.get_text(f"{server.base_url}/app/", cookie)  # first request stores preferences
    ids = list(visible_conversations(agent_user).values_list("pk", flat=True)[:5000])
    sample = rng.sample(ids, min(len(ids), 300))

    def contains(marker: str):
        def check(body: bytes) -> str | None:
            return None if marker.encode() in body else f"no {marker} in the page"

        return check

    htmx = {**cookie, "HX-Request": "true"}
    probes = [
        client.Probe(
            "inbox page /app/ (agent)", [f"{server.base_url}/app/"], cookie, contains('id="rows"')
        ),
        client.Probe(
            "inbox list (htmx)",
            [f"{server.base_url}/app/"],
            {**htmx, "HX-Target": "list"},
            contains('id="rows"'),
        ),
        client.Probe(
            "conversation page /app/c/<id>/",
            [f"{server.base_url}/app/c/{pk}/" for pk in sample],
            cookie,
            contains('id="conversation"'),
        ),
        client.Probe(
            "conversation pane (htmx)",
            [f"{server.base_url}/app/c/{pk}/" for pk in sample],
            {**htmx, "HX-Target": "pane"},
            contains('id="conversation"'),
        ),
    ]
    for probe in probes:
        probe.target_ms = h.UI_TARGET_P95_MS
    return probes


def run_read(args, server, seed_ids: dict, admin_token: str) -> dict:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from bench import client
    from hub.models import Conversation

    base = f"{server.base_url}/api/v1"
    admin = {"Authorization": f"Token {admin_token}"}
    agent_user = get_user_model().objects.get(username="bench-seed-agent-1")
    agent_token, _ = Token.objects.get_or_create(user=agent_user)
    agent = {"Authorization": f"Token {agent_token.key}"}
    agent_teams = list(agent_user.hub_teams.values_list("slug", flat=True))

    ids = list(
        Conversation.objects.filter(team_id__in=seed_ids["teams"]).values_list("pk", flat=True)
    )
    rng = random.Random(7)
    sample = rng.sample(ids, min(len(ids), args.requests))
    first_page = client.get_json(f"{base}/conversations/", admin)
    next_url = first_page.get("next")
    if not next_url:
        raise RuntimeError("the conversation list has no next page")

    def page_of(size: int):
        def check(body: bytes) -> str | None:
            got = len(json.loads(body)["results"])
            return None if got == size else f"{got} results instead of {size}"

        return check

    def timeline_check(body: bytes) -> str | None:
        return None if json.loads(body)["results"] else "empty timeline"

    probes = [
        client.Probe(
            "baseline: bare view, 50 rows",
            [f"{server.base_url}/bench/bare/list/"],
            {},
            baseline=True,
        ),
        client.Probe("conversations (superuser)", [f"{base}/conversations/"], admin, page_of(50)),
        client.Probe(
            "conversations ?status=open", [f"{base}/conversations/?status=open"], admin, page_of(50)
        ),
        client.Probe("conversations next page (cursor)", [next_url], admin, page_of(50)),
        client.Probe(
            f"conversations (agent of {len(agent_teams)} teams)",
            [f"{base}/conversations/"],
            agent,
            page_of(50),
        ),
        client.Probe(
            "timeline (random conversation)",
            [f"{base}/conversations/{pk}/timeline/" for pk in sample],
            admin,
            timeline_check,
        ),
    ]
    probes += _inbox_probes(server, agent_user, rng)
    client.measure(probes, args.requests)
    rows = []
    for probe in probes:
        lat = h.LatencySummary.of(probe.latencies_ms)
        rows.append(
            {
                "name": probe.name,
                "requests": lat.count,
                "p50_ms": round(lat.p50, 2),
                "p95_ms": round(lat.p95, 2),
                "p99_ms": round(lat.p99, 2),
                "max_ms": round(lat.max, 2),
                "errors": probe.errors,
                "first_error": probe.first_error,
                "ok": lat.p95 < probe.target_ms and not probe.errors,
                "target_ms": probe.target_ms,
                "baseline": probe.baseline,
            }
        )
    return {
        "probes": rows,
        "target_p95_ms": h.READ_TARGET_P95_MS,
        "ok": all(r["ok"] for r in rows if not r["baseline"]),
    }


# --- report -----------------------------------------------------------------------------------


def report(summary: dict) -> None:
    log("")
    ingest = summary.get("ingest")
    if ingest:
        log(
            f"Ingest: POST {ingest['n']} messages per run, {ingest['senders']} senders, "
            f"{ingest['concurrency']} connections, {ingest['rounds']} runs per side alternated, "
            f"median per side; no Celery worker"
            f"{' (webhook tasks queued to Redis, then purged)' if ingest['webhook'] else ''}"
        )
        rows = []
        for side, label in (
            ("bare", "bare Django view (1 INSERT)"),
            ("hub", "hub POST /api/v1/inbound/"),
        ):
            s = ingest[side]
            rows.append(
                [
                    label,
                    h.fmt_rate(s["median_rate"]),
                    " ".join(h.fmt_rate(r) for r in s["rates"]),
                    h.fmt_ms(s["p50_ms"]),
                    h.fmt_ms(s["p95_ms"]),
                    h.fmt_ms(s["server_cpu_ms_per_msg"]),
                    s["db_sessions_per_request"],
                    s["errors"],
                ]
            )
        log(
            h.format_table(
                [
                    "side",
                    "msg/s",
                    "runs msg/s",
                    "p50 ms",
                    "p95 ms",
                    "srv CPU ms/msg",
                    "db conn/req",
                    "errors",
                ],
                rows,
            )
        )
        log(
            f"ratio hub/bare = {ingest['ratio']:.2f}  (target >= {ingest['target_ratio']:.2f})  "
            f"{h.verdict(ingest['ok'])}"
        )
        log(
            "(srv CPU: uvicorn process CPU time per message; db conn/req: PostgreSQL sessions "
            "opened per request)"
        )
        log("")
    read = summary.get("read")
    if read:
        seed = summary["seed"]
        log(
            f"Read latency: seed {seed['conversations']} conversations / {seed['messages']} "
            f"messages; sequential GETs over one keep-alive connection, page size 50"
        )
        rows = [
            [
                p["name"],
                p["requests"],
                h.fmt_ms(p["p50_ms"]),
                h.fmt_ms(p["p95_ms"]),
                h.fmt_ms(p["p99_ms"]),
                h.fmt_ms(p["max_ms"]),
                p["errors"],
                "(no target)"
                if p["baseline"]
                else f"{h.verdict(p['ok'])} (p95 < {p['target_ms']:.0f} ms)",
            ]
            for p in read["probes"]
        ]
        log(
            h.format_table(
                ["GET", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "target"], rows
            )
        )
        for p in read["probes"]:
            if p["first_error"]:
                log(f"  {p['name']}: first error: {p['first_error']}")
        log("")
    if summary.get("server_errors"):
        log("Server log, most frequent exceptions:")
        for line in summary["server_errors"]:
            log(f"  {line}")
        log("")
    log(json.dumps(summary, separators=(",", ":"), default=str))


def run_understanding(log) -> dict:
    """CPU time of ``understanding.analyse`` per message (no server, no database)."""
    from understanding import bench as ubench

    result = ubench.measure(ubench.texts())
    log(ubench.format_result(result))
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    understanding = None
    if "understanding" in args.cases:
        understanding = run_understanding(log)
        args.cases.discard("understanding")
        if not args.cases:
            log(json.dumps({"understanding": understanding}, separators=(",", ":")))
            return 0
    database_url = os.environ.get("DATABASE_URL") or (
        h.with_database(DEFAULT_DATABASE_URL, "hub_bench_quick")
        if args.quick
        else DEFAULT_DATABASE_URL
    )
    if not database_url.startswith(("postgres://", "postgresql://")):
        log(f"the benchmark needs PostgreSQL; DATABASE_URL is {database_url!r}")
        return 2
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    ensure_database(database_url)
    if args.db_conn == "pool" and importlib.util.find_spec("psycopg_pool") is None:
        log("--db-conn pool needs the psycopg-pool package (pip install 'psycopg[pool]')")
        return 2
    env = setup_django(database_url, redis_url, args.db_conn)
    log(
        f"database {h.database_name(database_url)}, redis {redis_url}, "
        f"python {sys.version.split()[0]}"
    )

    from django.conf import settings

    from bench import cases, chat_case, knowledge_case, seed, threading_case
    from bench.server import Server

    summary: dict = {
        "database": h.database_name(database_url),
        "cpus": os.cpu_count(),
        "args": {
            k: (sorted(v) if isinstance(v, set) else v)
            for k, v in vars(args).items()
            if not k.startswith("skip")
        },
    }
    if understanding is not None:
        summary["understanding"] = understanding
    fx = ingest_fixtures(args.webhook)
    if "read" in args.cases:
        seed_started = time.perf_counter()
        seed_ids = seed.ensure(args.conversations, args.messages, log, force=args.reseed)
        summary["seed"] = {
            "conversations": args.conversations,
            "messages": args.messages,
            "seeded_now": seed_ids["seeded"],
            "seconds": round(time.perf_counter() - seed_started, 1),
        }

    server = Server(env, Path(settings.VAR_DIR) / "bench" / "server.log")
    log_offset = server.log_path.stat().st_size if server.log_path.exists() else 0
    server.start()
    log(f"server pid {server.pid} on {server.base_url} (log {server.log_path})")
    try:
        if "ingest" in args.cases:
            log("ingest runs:")
            summary["ingest"] = run_ingest(args, server, fx)
            if args.webhook:
                purged = purge_celery_queue()
                log(f"  purged {purged} queued Celery tasks")
        if "read" in args.cases:
            log("read probes ...")
            summary["read"] = run_read(args, server, seed_ids, fx["token"])
        if "sms" in args.cases:
            log("sms webhook runs:")
            summary["sms"] = cases.run_sms(args, server, log)
        if "chat" in args.cases:
            log("chat sockets:")
            summary["chat"] = chat_case.run_chat(args, server, env, fx["token"], log)
        if "knowledge" in args.cases:
            log("knowledge answers:")
            summary["knowledge"] = knowledge_case.run_knowledge(args, server, fx["token"], log)
    finally:
        server.stop()
    if "email" in args.cases:
        log("email imports:")
        summary["email"] = cases.run_email(args, env, log)
    if "threading" in args.cases:
        log("email threading in three delivery orders:")
        summary["threading"] = threading_case.run_threading(args, env, log)
    if "sla" in args.cases:
        log("sla sweeps:")
        summary["sla"] = cases.run_sla(args, env, log)
    with server.log_path.open("rb") as handle:
        handle.seek(log_offset)
        errors = h.top_errors(handle.read().decode(errors="replace"))
    summary["server_errors"] = [f"{n}x {line}" for n, line in errors]
    summary["seconds"] = round(time.perf_counter() - started, 1)
    report(summary)
    chat_case.report(summary, log)
    cases.report(summary, log)
    threading_case.report(summary, log)
    knowledge_case.report(summary, log)
    if understanding is not None:
        from understanding import bench as ubench

        log(ubench.format_result(understanding))
    log(f"total {summary['seconds']:.0f}s")
    return 0
