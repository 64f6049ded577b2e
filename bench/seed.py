"""Bulk seed for the read-latency benchmark, generated inside PostgreSQL (INSERT ... SELECT over
``generate_series``: no rows cross the wire, so 1M messages take a minute or so, not ten).

Shape (deterministic, ``setseed``): 5 teams, 12 endpoints over every channel, 20 agents, one
contact per 3 conversations (60% email, 25% phone, 15% chat identities; 30% with a company),
conversations spread over the last 365 days with ids in creation order, recent ones mostly open,
older ones mostly resolved, 70% assigned. Messages: 30% of them go to "hot" conversations (every
50th, about 150 messages each), the rest uniformly (about 7 each); inbound/outbound/note/event
mix, occurred_at inside the conversation's lifetime, 1% with an attachment row.

Seeded rows are recognisable (teams ``bench-seed-*``, contacts ``{"bench": "seed"}``, companies
``seed-company-*``), so a reseed deletes only them. The ``BenchSeed`` row records the size.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import contextmanager

import psycopg
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction

from bench.bareapp.models import BenchSeed
from hub.models import Channel, Conversation, Endpoint, Message, Team

SEED_VERSION = 1
TEAMS = 5
AGENTS = 20
ENDPOINTS = [  # (team index, channel, address)
    (0, Channel.EMAIL, "seed-support@seed.bench.example"),
    (0, Channel.CHAT, "seed-widget-shop"),
    (0, Channel.SMS, "+390200000001"),
    (1, Channel.EMAIL, "seed-sales@seed.bench.example"),
    (1, Channel.CHAT, "seed-widget-pricing"),
    (1, Channel.WHATSAPP, "+390200000002"),
    (2, Channel.EMAIL, "seed-billing@seed.bench.example"),
    (2, Channel.API, "seed-crm-source"),
    (3, Channel.EMAIL, "seed-returns@seed.bench.example"),
    (3, Channel.SMS, "+390200000003"),
    (4, Channel.WHATSAPP, "+390200000004"),
    (4, Channel.API, "seed-app-source"),
]
MESSAGE_CHUNKS = 10

Log = Callable[[str], None]


def fixtures() -> dict:
    """Teams, endpoints and agents of the seed (idempotent, ORM). Returns their ids."""
    User = get_user_model()
    teams = []
    for i in range(TEAMS):
        team, _ = Team.objects.get_or_create(
            slug=f"bench-seed-{i + 1}", defaults={"name": f"Seed team {i + 1}"}
        )
        teams.append(team)
    endpoints = []
    for team_index, channel, address in ENDPOINTS:
        endpoint, _ = Endpoint.objects.get_or_create(
            channel=channel,
            address=address,
            defaults={"name": f"Seed {channel} {address}", "team": teams[team_index]},
        )
        endpoints.append(endpoint)
    agents = []
    for i in range(AGENTS):
        user, created = User.objects.get_or_create(
            username=f"bench-seed-agent-{i + 1}",
            defaults={"email": f"agent{i + 1}@seed.bench.example"},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        # Agent k works in team k % TEAMS, and every third one also in the next team.
        user.hub_teams.add(teams[i % TEAMS])
        if i % 3 == 0:
            user.hub_teams.add(teams[(i + 1) % TEAMS])
        agents.append(user)
    return {
        "teams": [t.pk for t in teams],
        "endpoints": [e.pk for e in endpoints],
        "agents": [u.pk for u in agents],
    }


def current(conversations: int, messages: int, team_ids: list[int]) -> bool:
    """Is the seed of this size (and generator version) already in the database?"""
    marker = BenchSeed.objects.filter(pk=1).first()
    if marker is None or (marker.version, marker.conversations, marker.messages) != (
        SEED_VERSION,
        conversations,
        messages,
    ):
        return False
    return Conversation.objects.filter(team_id__in=team_ids).count() == conversations


def _replica_mode(cursor) -> bool:
    """Skip FK triggers for the bulk statements (rows are consistent by construction).

    Needs a superuser; without one the load is slower but the same.
    """
    try:
        with transaction.atomic():  # a savepoint: a refusal leaves the transaction usable
            cursor.execute("SET LOCAL session_replication_role = replica")
        return True
    except (DatabaseError, psycopg.Error):  # not a superuser: keep the triggers
        return False


def delete_seed(team_ids: list[int], log: Log) -> None:
    """Delete the bulk rows of an earlier seed (not its teams, endpoints and agents)."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        _replica_mode(cur)
        cur.execute("DELETE FROM bench_bareapp_benchseed")
        cur.execute(
            "CREATE TEMP TABLE old_conv ON COMMIT DROP AS "
            "SELECT id FROM hub_conversation WHERE team_id = ANY(%s)",
            [team_ids],
        )
        cur.execute(
            "DELETE FROM hub_attachment a USING hub_message m, old_conv c "
            "WHERE a.message_id = m.id AND m.conversation_id = c.id"
        )
        cur.execute(
            "DELETE FROM hub_localdelivery l USING hub_message m, old_conv c "
            "WHERE l.message_id = m.id AND m.conversation_id = c.id"
        )
        cur.execute("DELETE FROM hub_message m USING old_conv c WHERE m.conversation_id = c.id")
        cur.execute("DELETE FROM hub_conversation x USING old_conv c WHERE x.id = c.id")
        cur.execute(
            "DELETE FROM crm_identity i USING crm_contact c "
            'WHERE i.contact_id = c.id AND c.attributes @> \'{"bench": "seed"}\''
        )
        cur.execute('DELETE FROM crm_contact WHERE attributes @> \'{"bench": "seed"}\'')
        cur.execute("DELETE FROM crm_company WHERE domain LIKE 'seed-company-%'")
    log(f"  deleted the previous seed in {time.perf_counter() - started:.1f}s")


def seed(conversations: int, messages: int, ids: dict, log: Log) -> float:
    """Insert ``conversations`` conversations and ``messages`` messages. Returns seconds taken."""
    started = time.perf_counter()
    contacts = max(1, conversations // 3)
    companies = max(1, contacts // 30)
    params = {
        "conversations": conversations,
        "contacts": contacts,
        "companies": companies,
        "endpoints": ids["endpoints"],
        "agents": ids["agents"],
        "n_endpoints": len(ids["endpoints"]),
        "n_agents": len(ids["agents"]),
        "hot_every": 50,
    }
    with transaction.atomic(), script_cursor() as cur:
        fast = _replica_mode(cur)
        cur.execute("SELECT setseed(0.42)")
        _seed_people(cur, params)
        log(f"  {contacts} contacts, {companies} companies ({time.perf_counter() - started:.1f}s)")
        _seed_conversations(cur, params)
        log(f"  {conversations} conversations ({time.perf_counter() - started:.1f}s)")
        chunk = -(-messages // MESSAGE_CHUNKS)
        for first in range(1, messages + 1, chunk):
            last = min(messages, first + chunk - 1)
            _seed_messages(cur, params, first, last)
            log(
                f"  messages {last}/{messages} ({time.perf_counter() - started:.1f}s"
                f"{'' if fast else ', FK triggers on'})"
            )
        BenchSeed.objects.update_or_create(
            pk=1,
            defaults={
                "version": SEED_VERSION,
                "conversations": conversations,
                "messages": messages,
                "seconds": time.perf_counter() - started,
            },
        )
    tables = [
        "crm_company",
        "crm_contact",
        "crm_identity",
        "hub_conversation",
        "hub_message",
        "hub_attachment",
    ]
    with connection.cursor() as cur:  # outside the transaction (autocommit): VACUUM may run
        for table in tables:
            cur.execute(f"VACUUM ANALYZE {table}")
    seconds = time.perf_counter() - started
    log(f"  vacuum analyze done ({seconds:.1f}s)")
    BenchSeed.objects.filter(pk=1).update(seconds=seconds)
    return seconds


_INSERT = re.compile(r"INSERT INTO (\w+) \(([^)]*)/\*cols\*/\)")


def _complete(sql: str, params: dict) -> tuple[str, dict]:
    """Fill the ``/*cols*/`` and ``/*vals*/`` marks of an INSERT with every column the SQL does
    not name, at its Django default, so the seed keeps working when a model gains a field."""
    match = _INSERT.search(sql)
    if match is None:
        return sql, params
    table, named = match.group(1), {c.strip() for c in match.group(2).split(",") if c.strip()}
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    cols, vals, extra = [], [], {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.column in named:
            continue
        cols.append(f.column)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            vals.append("now()")
            continue
        if f.has_default() and callable(f.default) and f.unique:
            raise RuntimeError(f"bench/seed.py must fill the unique {table}.{f.column} itself")
        value = f.get_default()
        if value is None and not f.null:
            raise RuntimeError(f"bench/seed.py does not know how to fill {table}.{f.column}")
        key = f"dflt_{table}_{f.column}"
        extra[key] = f.get_db_prep_save(value, connection)
        vals.append(f"%({key})s")
    more_cols = "".join(f", {c}" for c in cols)
    more_vals = "".join(f", {v}" for v in vals)
    return sql.replace("/*cols*/", more_cols).replace("/*vals*/", more_vals), {**params, **extra}


@contextmanager
def script_cursor():
    """A cursor that binds on the client: the seed's statements are scripts (several commands
    in one execute), which the server-side binding the hub configures cannot run."""
    connection.ensure_connection()
    with psycopg.ClientCursor(connection.connection) as cur:
        yield cur


def _run(cur, sql: str, params: dict) -> None:
    cur.execute(*_complete(sql, params))


def _seed_people(cur, p: dict) -> None:
    cur.execute(
        "CREATE TEMP TABLE seed_company (rn int PRIMARY KEY, id bigint) ON COMMIT DROP;"
        "CREATE TEMP TABLE seed_contact (rn int PRIMARY KEY, id bigint, identity_id bigint)"
        " ON COMMIT DROP;"
        "CREATE TEMP TABLE seed_conv (rn int PRIMARY KEY, id bigint, identity_id bigint,"
        " endpoint_id bigint, channel text, created_at timestamptz, last_at timestamptz)"
        " ON COMMIT DROP;"
    )
    _run(
        cur,
        """
        WITH ins AS (
            INSERT INTO crm_company (name, domain, attributes, created_at /*cols*/)
            SELECT 'Seed company ' || g, 'seed-company-' || g || '.example', '{}',
                   now() - interval '500 days' /*vals*/
            FROM generate_series(1, %(companies)s) g
            RETURNING id
        )
        INSERT INTO seed_company SELECT row_number() OVER (ORDER BY id), id FROM ins
        """,
        p,
    )
    _run(
        cur,
        """
        WITH ins AS (
            INSERT INTO crm_contact (name, company_id, language, attributes, created_at,
                                     updated_at /*cols*/)
            SELECT 'Seed contact ' || x.g, sc.id, x.lang, '{"bench": "seed"}', x.ts, x.ts
                   /*vals*/
            FROM (
                SELECT g,
                       CASE WHEN random() < 0.3
                            THEN 1 + floor(random() * %(companies)s)::int END AS crn,
                       CASE WHEN random() < 0.4 THEN 'it' ELSE 'en' END AS lang,
                       now() - random() * interval '400 days' AS ts
                FROM generate_series(1, %(contacts)s) g
                OFFSET 0
            ) x
            LEFT JOIN seed_company sc ON sc.rn = x.crn
            ORDER BY x.g
            RETURNING id
        )
        INSERT INTO seed_contact (rn, id) SELECT row_number() OVER (ORDER BY id), id FROM ins
        """,
        p,
    )
    _run(
        cur,
        """
        WITH ins AS (
            INSERT INTO crm_identity (contact_id, kind, value, display_name, verification_method,
                                      verified_at, created_at /*cols*/)
            SELECT id, kind,
                   CASE kind
                       WHEN 'email' THEN 'seed-contact-' || rn || '@seed.bench.example'
                       WHEN 'phone' THEN '+39333' || lpad(rn::text, 7, '0')
                       ELSE 'seed-visitor-' || rn
                   END,
                   'Seed contact ' || rn,
                   CASE WHEN kind = 'email' THEN 'provider' ELSE '' END,
                   CASE WHEN kind = 'email' THEN now() - interval '400 days' END,
                   now() - interval '400 days' /*vals*/
            FROM (
                SELECT rn, id,
                       CASE WHEN r < 0.60 THEN 'email' WHEN r < 0.85 THEN 'phone'
                            ELSE 'chat_visitor' END AS kind
                FROM (SELECT rn, id, random() AS r FROM seed_contact OFFSET 0) c
            ) x
            RETURNING id, contact_id
        )
        UPDATE seed_contact s SET identity_id = ins.id FROM ins WHERE ins.contact_id = s.id
        """,
        p,
    )


def _seed_conversations(cur, p: dict) -> None:
    _run(
        cur,
        """
        CREATE TEMP TABLE seed_endpoint ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY e.id) AS rn, e.id, e.channel, e.team_id
        FROM hub_endpoint e WHERE e.id = ANY(%(endpoints)s);
        CREATE TEMP TABLE seed_agent ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY id) AS rn, id FROM unnest(%(agents)s::bigint[]) id;
        """,
        p,
    )
    _run(
        cur,
        """
        WITH base AS (
            SELECT g,
                   now() - interval '365 days' * (1 - g::float8 / %(conversations)s)
                       - random() * interval '6 hours' AS created,
                   interval '30 days' * power(random(), 4) AS span,
                   1 + floor(random() * %(contacts)s)::int AS crn,
                   1 + floor(random() * %(n_endpoints)s)::int AS ern,
                   CASE WHEN random() < 0.7
                        THEN 1 + floor(random() * %(n_agents)s)::int END AS arn,
                   random() AS r_status,
                   random() AS r_misc
            FROM generate_series(1, %(conversations)s) g
            OFFSET 0
        ), timed AS (
            SELECT b.*, least(b.created + b.span, now()) AS last_at,
                   CASE
                       WHEN least(b.created + b.span, now()) > now() - interval '14 days' THEN
                           CASE WHEN r_status < 0.50 THEN 'open' WHEN r_status < 0.70
                                THEN 'pending' WHEN r_status < 0.75 THEN 'snoozed'
                                ELSE 'resolved' END
                       ELSE
                           CASE WHEN r_status < 0.03 THEN 'open' WHEN r_status < 0.05
                                THEN 'pending' ELSE 'resolved' END
                   END AS status
            FROM base b
        ), ins AS (
            INSERT INTO hub_conversation (
                contact_id, endpoint_id, channel, status, assignee_id, team_id, subject,
                reply_token, waiting_since, due_at, snoozed_until, last_activity_at,
                last_inbound_at, last_outbound_at, resolved_at, created_at, updated_at /*cols*/)
            SELECT c.id, e.id, e.channel, t.status, a.id, e.team_id,
                   'Seed conversation ' || t.g || ' about ' ||
                       (ARRAY['an order','a refund','a delivery','the invoice','an account',
                              'pricing','a return'])[1 + (t.g %% 7)],
                   'seed' || t.g,
                   CASE WHEN t.status = 'open' THEN t.last_at END,
                   CASE WHEN t.status = 'open' THEN t.last_at + interval '1 day' END,
                   CASE WHEN t.status = 'snoozed'
                        THEN now() + t.r_misc * interval '7 days' END,
                   t.last_at,
                   t.last_at,
                   CASE WHEN t.status <> 'open' OR t.r_misc < 0.5
                        THEN t.created + (t.last_at - t.created) * t.r_misc END,
                   CASE WHEN t.status = 'resolved' THEN t.last_at END,
                   t.created, t.last_at /*vals*/
            FROM timed t
            JOIN seed_contact c ON c.rn = t.crn
            JOIN seed_endpoint e ON e.rn = t.ern
            LEFT JOIN seed_agent a ON a.rn = t.arn
            ORDER BY t.g
            RETURNING id, contact_id, endpoint_id, channel, created_at, last_activity_at
        )
        INSERT INTO seed_conv
        SELECT row_number() OVER (ORDER BY ins.id), ins.id, sc.identity_id, ins.endpoint_id,
               ins.channel, ins.created_at, ins.last_activity_at
        FROM ins JOIN seed_contact sc ON sc.id = ins.contact_id
        """,
        p,
    )


def _seed_messages(cur, p: dict, first: int, last: int) -> None:
    _run(
        cur,
        """
        WITH pick AS (
            SELECT g,
                   CASE WHEN random() < 0.3
                        THEN 1 + %(hot_every)s
                                 * floor(random() * (%(conversations)s / %(hot_every)s))::int
                        ELSE 1 + floor(random() * %(conversations)s)::int END AS crn,
                   random() AS frac,
                   random() AS r_kind,
                   random() AS r_dir,
                   1 + floor(random() * %(n_agents)s)::int AS arn,
                   1 + floor(random() * 8)::int AS len
            FROM generate_series(%(first)s, %(last)s) g
            OFFSET 0
        ), shaped AS (
            SELECT p.*, c.id AS conv_id, c.identity_id, c.endpoint_id, c.channel,
                   c.created_at + (c.last_at - c.created_at) * p.frac AS at,
                   CASE WHEN p.r_kind < 0.04 THEN 'note' WHEN p.r_kind < 0.07 THEN 'event'
                        ELSE 'message' END AS kind,
                   CASE WHEN p.r_kind < 0.07 THEN ''
                        WHEN p.r_dir < 0.55 THEN 'in' ELSE 'out' END AS direction
            FROM pick p JOIN seed_conv c ON c.rn = p.crn
        ), ins AS (
            INSERT INTO hub_message (
                conversation_id, direction, kind, channel, endpoint_id, sender_identity_id,
                recipient_identity_id, author_id, event_type, text, html, provider_message_id,
                idempotency_key, delivery_status, delivery_error, delivery_attempts,
                next_attempt_at, is_auto_reply, metadata, occurred_at, created_at, updated_at
                /*cols*/)
            SELECT s.conv_id, s.direction, s.kind, s.channel, s.endpoint_id,
                   CASE WHEN s.direction = 'in' THEN s.identity_id END,
                   CASE WHEN s.direction = 'out' THEN s.identity_id END,
                   CASE WHEN s.direction <> 'in' THEN a.id END,
                   CASE WHEN s.kind = 'event' THEN 'assigned' ELSE '' END,
                   CASE WHEN s.kind = 'event' THEN 'Assigned to an agent.'
                        ELSE 'Seed message ' || s.g || ': ' || repeat(md5(s.g::text) || ' ', s.len)
                   END,
                   '',
                   CASE WHEN s.kind = 'message' THEN 'seed-' || s.direction || '-' || s.g
                        ELSE '' END,
                   gen_random_uuid(),
                   CASE WHEN s.direction = 'in' THEN 'received'
                        WHEN s.direction = 'out' THEN
                            CASE WHEN s.frac < 0.5 THEN 'read' ELSE 'delivered' END
                        ELSE '' END,
                   '', CASE WHEN s.direction = 'out' THEN 1 ELSE 0 END, NULL, false, '{}',
                   s.at, s.at, s.at /*vals*/
            FROM shaped s LEFT JOIN seed_agent a ON a.rn = s.arn
            ORDER BY s.g
            RETURNING id, created_at
        )
        INSERT INTO hub_attachment (message_id, file, filename, content_type, size, content_id,
                                    created_at /*cols*/)
        SELECT id, 'attachments/seed/' || id || '.pdf', 'document-' || id || '.pdf',
               'application/pdf', 20000 + floor(random() * 1000000)::int, '', created_at
               /*vals*/
        FROM ins
        WHERE random() < 0.01
        """,
        {**p, "first": first, "last": last},
    )


def ensure(conversations: int, messages: int, log: Log, force: bool = False) -> dict:
    """Seed unless a seed of this size exists. Returns ids and what happened."""
    ids = fixtures()
    if not force and current(conversations, messages, ids["teams"]):
        marker = BenchSeed.objects.get(pk=1)
        log(
            f"seed present: {conversations} conversations / {messages} messages "
            f"(seeded {marker.created_at:%Y-%m-%d %H:%M} in {marker.seconds:.0f}s); skipping"
        )
        return {**ids, "seeded": False, "seconds": 0.0}
    if BenchSeed.objects.exists() or Conversation.objects.filter(team_id__in=ids["teams"]).exists():
        log("seed of another size (or incomplete) found: deleting it")
        delete_seed(ids["teams"], log)
    log(f"seeding {conversations} conversations / {messages} messages ...")
    seconds = seed(conversations, messages, ids, log)
    counts = (
        Conversation.objects.filter(team_id__in=ids["teams"]).count(),
        Message.objects.filter(conversation__team_id__in=ids["teams"]).count(),
    )
    log(f"seeded {counts[0]} conversations / {counts[1]} messages in {seconds:.1f}s")
    return {**ids, "seeded": True, "seconds": seconds}
