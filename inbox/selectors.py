"""Reads of the agent UI, built on ``hub.selectors`` (who sees what) with a constant number of
queries per page whatever its size.

The inbox is sorted by TTL due time: conversations whose clock runs (``due_at`` set) first,
soonest first, then the others by last activity. It is paginated by keyset (a cursor holding the
last row's sort values), so page 1,000 costs what page 1 costs, and each of the two segments
walks an index of the hub (``hub_conv_due_idx``, ``hub_conv_activity_idx``).
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from crm.identities import InvalidIdentity, normalise_phone
from crm.models import Contact, Identity
from hub import selectors
from hub.models import Channel, Conversation, Endpoint, Message, Temperature
from inbox.models import ReadMarker

PAGE_SIZE = 50
TIMELINE_WINDOW = 50
SEARCH_MAX_CHARS = 100
SEARCH_MIN_TEXT_CHARS = 3
SEARCH_MAX_MATCHES = 500
TEXT_SEARCH_WINDOW = 100_000  # newest messages whose text the search reads

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_KEY_MAX = 10**19


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICRO


def _from_micros(value: int) -> datetime:
    return _EPOCH + value * _MICRO


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilters:
    view: str = "all"  # all (every conversation of my teams) | mine | unassigned
    team: int | None = None
    channel: str = ""
    status: str = "open"  # a Conversation.Status, or "all"
    q: str = ""
    sort: str = "due"  # due | recent | temperature
    temperature: str = ""  # a Temperature level, or "" for any

    def as_params(self) -> dict[str, str]:
        """The non-default filters, for links and the list URL."""
        params = {}
        for name, default in (
            ("view", "all"),
            ("channel", ""),
            ("status", "open"),
            ("q", ""),
            ("sort", "due"),
            ("temperature", ""),
        ):
            value = getattr(self, name)
            if value != default:
                params[name] = value
        if self.team:
            params["team"] = str(self.team)
        return params


VIEWS = ("all", "mine", "unassigned")
SORTS = ("due", "recent", "temperature")


def parse_filters(params, user) -> InboxFilters:
    """Filters from a query string; unknown values fall back to the defaults (never a 500)."""
    view = params.get("view", "all")
    status = params.get("status", "open")
    channel = params.get("channel", "")
    sort = params.get("sort", "due")
    team = params.get("team", "")
    temperature = params.get("temperature", "")
    team_id = int(team) if team.isascii() and team.isdigit() and len(team) < 19 else None
    return InboxFilters(
        view=view if view in VIEWS else "all",
        team=team_id,
        channel=channel if channel in Channel.values else "",
        status=status if status in (*Conversation.Status.values, "all") else "open",
        q=" ".join(params.get("q", "").split())[:SEARCH_MAX_CHARS],
        sort=sort if sort in SORTS else "due",
        temperature=temperature if temperature in Temperature.values else "",
    )


def search_condition(q: str) -> Q:
    """Conversations of a contact whose name contains ``q`` or who has the address ``q`` (an
    email or phone number as the CRM stores it, exactly or its beginning), whose subject contains
    it, or with a recent message or note containing it (or an email forwarding a message that
    contains it).

    Cost and limits (documented in the README): the matching contacts and messages are looked up
    first, at most ``SEARCH_MAX_MATCHES`` of each, so the inbox query then filters by id lists.
    Name, subject and text are substring matches (``icontains``) that PostgreSQL answers with a
    scan (no trigram or full-text index yet); message text is searched for 3 characters or more
    and only among the newest ``TEXT_SEARCH_WINDOW`` messages (a primary-key range), so its cost
    stays bounded however large the history grows.
    """
    lowered = q.lower()
    values = {lowered}
    if sum(ch.isdigit() for ch in q) >= 6:
        with contextlib.suppress(InvalidIdentity):
            values.add(normalise_phone(q))
    addresses = Q(value__in=values)
    if len(lowered) >= SEARCH_MIN_TEXT_CHARS:
        addresses |= Q(value__startswith=lowered)
    contact_ids = set(
        Identity.objects.filter(addresses).values_list("contact_id", flat=True)[:SEARCH_MAX_MATCHES]
    )
    contact_ids.update(
        Contact.objects.filter(name__icontains=q).values_list("pk", flat=True)[:SEARCH_MAX_MATCHES]
    )
    condition = Q(contact_id__in=contact_ids) | Q(subject__icontains=q)
    if len(q) >= SEARCH_MIN_TEXT_CHARS:
        newest = Message.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        texts = Message.objects.filter(
            pk__gt=newest - TEXT_SEARCH_WINDOW,
            kind__in=[Message.Kind.MESSAGE, Message.Kind.NOTE],
        ).filter(
            # The message's text, or the message an email forwards (kept beside the note).
            Q(text__icontains=q) | Q(metadata__email__forwarded__text__icontains=q)
        )
        conversation_ids = set(texts.values_list("conversation_id", flat=True)[:SEARCH_MAX_MATCHES])
        condition |= Q(pk__in=conversation_ids)
    return condition


def filtered_conversations(user, filters: InboxFilters) -> QuerySet[Conversation]:
    qs = selectors.conversation_list(user)
    if filters.view == "mine":
        qs = qs.filter(assignee=user)
    elif filters.view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if filters.team:
        qs = qs.filter(team_id=filters.team)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.status != "all":
        qs = qs.filter(status=filters.status)
    if filters.temperature:
        qs = qs.filter(temperature=filters.temperature)
    if filters.q:
        qs = qs.filter(search_condition(filters.q))
    return qs


# --- keyset pagination ------------------------------------------------------------------------


def sort_key(conversation: Conversation, sort: str) -> str:
    """A string that orders rows exactly as the inbox does (the page's JS inserts live rows by
    it): due rows first by due time and id, then the others by last activity, newest first."""
    if sort == "due" and conversation.due_at is not None:
        return f"0{_micros(conversation.due_at):020d}{conversation.pk:020d}"
    activity = _KEY_MAX - _micros(conversation.last_activity_at)
    if sort == "temperature":  # hottest first, then by last activity
        hotter = 1000 - conversation.temperature_score
        return f"{hotter:04d}{activity:020d}{_KEY_MAX - conversation.pk:020d}"
    return f"1{activity:020d}{_KEY_MAX - conversation.pk:020d}"


def encode_cursor(conversation: Conversation, sort: str) -> str:
    if sort == "temperature":
        raw = (
            f"t{conversation.temperature_score}.{_micros(conversation.last_activity_at)}"
            f".{conversation.pk}"
        )
    elif sort == "due" and conversation.due_at is not None:
        raw = f"d.{_micros(conversation.due_at)}.{conversation.pk}"
    else:
        raw = f"a.{_micros(conversation.last_activity_at)}.{conversation.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, datetime, int] | None:
    """``(segment, moment, id)`` or None for anything that is not a cursor we made."""
    if not cursor or len(cursor) > 80:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        segment, micros, pk = raw.split(".")
        if segment.startswith("t") and segment[1:].isdigit() and len(segment) <= 4:
            return segment, _from_micros(int(micros)), int(pk)
        if segment not in ("d", "a"):
            return None
        return segment, _from_micros(int(micros)), int(pk)
    except (ValueError, UnicodeDecodeError, OverflowError):
        return None


@dataclass
class InboxPage:
    conversations: list[Conversation]
    next_cursor: str = ""
    stats: dict[int, dict] = field(default_factory=dict)


def inbox_page(user, filters: InboxFilters, cursor: str = "", size: int | None = None) -> InboxPage:
    """One page of the inbox: at most two queries for the rows (one per segment), one for the
    unread counts and last message of each, one for the previews."""
    size = size or PAGE_SIZE
    qs = filtered_conversations(user, filters)
    position = decode_cursor(cursor)
    rows: list[Conversation] = []
    if filters.sort == "temperature":
        rows = _hottest(qs, position, size)
    elif filters.sort == "due" and (position is None or position[0] == "d"):
        due = qs.filter(due_at__isnull=False).order_by("due_at", "id")
        if position is not None:
            _, moment, pk = position
            due = due.filter(Q(due_at__gt=moment) | Q(due_at=moment, pk__gt=pk))
        rows = list(due[: size + 1])
        position = None
    if filters.sort != "temperature" and len(rows) <= size:
        rest = qs.filter(due_at__isnull=True) if filters.sort == "due" else qs
        rest = rest.order_by("-last_activity_at", "-id")
        if position is not None and position[0] == "a":
            _, moment, pk = position
            rest = rest.filter(
                Q(last_activity_at__lt=moment) | Q(last_activity_at=moment, pk__lt=pk)
            )
        rows += list(rest[: size + 1 - len(rows)])
    page = InboxPage(conversations=rows[:size])
    if len(rows) > size:
        page.next_cursor = encode_cursor(rows[size - 1], filters.sort)
    page.stats = row_stats(user, page.conversations)
    return page


def _hottest(qs, position, size: int) -> list[Conversation]:
    """A page sorted by temperature score, hottest first, then by last activity (the index
    ``hub_conv_temperature_idx``)."""
    rows = qs.order_by("-temperature_score", "-last_activity_at", "-id")
    if position is not None and position[0].startswith("t"):
        segment, moment, pk = position
        score = int(segment[1:])
        rows = rows.filter(
            Q(temperature_score__lt=score)
            | Q(temperature_score=score, last_activity_at__lt=moment)
            | Q(temperature_score=score, last_activity_at=moment, pk__lt=pk)
        )
    return list(rows[: size + 1])


def conversation_row(user, filters: InboxFilters, pk: int) -> Conversation | None:
    """One row of the inbox when it matches the filters (for live updates), else None."""
    return filtered_conversations(user, filters).filter(pk=pk).first()


def row_stats(user, conversations: list[Conversation]) -> dict[int, dict]:
    """Per conversation: ``unread`` (inbound messages after the agent's read marker) and
    ``preview`` (its latest message or note). Two queries whatever the number of rows."""
    ids = [c.pk for c in conversations]
    if not ids:
        return {}
    marker = ReadMarker.objects.filter(
        user=user, conversation_id=OuterRef("conversation_id")
    ).values("last_read_message_id")[:1]
    aggregates = (
        Message.objects.filter(
            conversation_id__in=ids, kind__in=[Message.Kind.MESSAGE, Message.Kind.NOTE]
        )
        .annotate(read_up_to=Coalesce(Subquery(marker), Value(0)))
        .values("conversation_id")
        .annotate(
            last_id=Max("id"),
            unread=Count(
                "id",
                filter=Q(
                    kind=Message.Kind.MESSAGE,
                    direction=Message.Direction.INBOUND,
                    id__gt=F("read_up_to"),
                ),
            ),
        )
        .order_by()
    )
    stats = {pk: {"unread": 0, "preview": None} for pk in ids}
    last_ids = {}
    for row in aggregates:
        stats[row["conversation_id"]]["unread"] = row["unread"]
        last_ids[row["last_id"]] = row["conversation_id"]
    previews = Message.objects.filter(pk__in=list(last_ids)).only(
        "id", "conversation_id", "kind", "direction", "channel", "text", "occurred_at"
    )
    for message in previews:
        stats[message.conversation_id]["preview"] = message
    return stats


# --- read markers -----------------------------------------------------------------------------


def mark_read(user, conversation: Conversation, up_to_message_id: int | None) -> None:
    """Move the agent's read marker forward (never back) to ``up_to_message_id``."""
    if not up_to_message_id:
        return
    now = timezone.now()
    updated = ReadMarker.objects.filter(user=user, conversation=conversation).update(
        last_read_message_id=Greatest(F("last_read_message_id"), Value(up_to_message_id)),
        last_read_at=now,
    )
    if updated:
        return
    try:
        with transaction.atomic():
            ReadMarker.objects.create(
                user=user,
                conversation=conversation,
                last_read_message_id=up_to_message_id,
                last_read_at=now,
            )
    except IntegrityError:  # the same agent's other tab won the race
        mark_read(user, conversation, up_to_message_id)


# --- the conversation page --------------------------------------------------------------------


def visible_conversation(user, pk: int) -> Conversation | None:
    return (
        selectors.conversation_list(user)
        .select_related("contact__company", "endpoint")
        .prefetch_related("contact__identities")
        .filter(pk=pk)
        .first()
    )


def timeline_window(
    conversation: Conversation, *, before: tuple[datetime, int] | None = None
) -> tuple[list[Message], bool]:
    """The latest ``TIMELINE_WINDOW`` items (or those before a position), oldest first, and
    whether earlier ones exist."""
    items = selectors.conversation_timeline(conversation).order_by("-occurred_at", "-id")
    if before is not None:
        moment, pk = before
        items = items.filter(Q(occurred_at__lt=moment) | Q(occurred_at=moment, pk__lt=pk))
    window = list(items[: TIMELINE_WINDOW + 1])
    more = len(window) > TIMELINE_WINDOW
    return list(reversed(window[:TIMELINE_WINDOW])), more


def timeline_since(
    conversation: Conversation, after_id: int, include: list[int] | None = None
) -> list[Message]:
    """Items stored after ``after_id`` (arrival order), plus the ones named in ``include`` (a
    realtime push names its message: a row committed late with a smaller id is not missed)."""
    condition = Q(pk__gt=after_id)
    if include:
        condition |= Q(pk__in=include)
    items = selectors.conversation_timeline(conversation).filter(condition)
    return list(items.order_by("occurred_at", "id")[:500])


def item_sort_key(message: Message) -> str:
    """Orders timeline items as the page shows them (occurred_at, then id), as a string."""
    return f"{_micros(message.occurred_at):020d}{message.pk:020d}"


def encode_position(message: Message) -> str:
    return f"{_micros(message.occurred_at)}.{message.pk}"


def decode_position(value: str) -> tuple[datetime, int] | None:
    try:
        micros, pk = value.split(".")
        return _from_micros(int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


def earlier_conversations(user, conversation: Conversation, limit: int = 10):
    """The contact's other conversations the agent may see, on any channel, newest first
    (not those merged into another: their messages are elsewhere)."""
    return list(
        selectors.visible_conversations(user)
        .filter(contact_id=conversation.contact_id, merged_into__isnull=True)
        .exclude(pk=conversation.pk)
        .order_by("-last_activity_at", "-id")[:limit]
    )


def recent_page_views(contact: Contact, limit: int = 10) -> list:
    """Pages the contact viewed recently, newest first: ``crm.selectors.recent_page_views`` when
    the CRM has page views (the chat widget reports them), else [] (the contact panel shows the
    section only when there is data)."""
    try:
        from crm.selectors import recent_page_views as crm_recent_page_views
    except ImportError:
        crm_recent_page_views = None
    if crm_recent_page_views is not None:
        return list(crm_recent_page_views(contact, limit))
    try:
        model = apps.get_model("crm", "PageView")
    except LookupError:
        return []
    return list(model.objects.filter(contact=contact).order_by("-pk")[:limit])


def channel_options(conversation: Conversation) -> list[dict]:
    """Channels a reply can go out on: the current one, and each other channel with an active
    endpoint and a reachable address of the contact (a reply there is a handoff first)."""
    from hub.channels import IDENTITY_KINDS_FOR_CHANNEL

    identities = list(conversation.contact.identities.all())
    active = set(
        Endpoint.objects.filter(is_active=True)
        .order_by("channel")
        .values_list("channel", flat=True)
        .distinct()
    )
    options = [
        {
            "value": conversation.channel,
            "label": Channel(conversation.channel).label,
            "current": True,
            "address": "",
        }
    ]
    for channel in Channel.values:
        if channel == conversation.channel or channel not in active or channel == Channel.API:
            continue
        kinds = IDENTITY_KINDS_FOR_CHANNEL.get(channel, ())
        reachable = sorted(
            (
                i
                for i in identities
                if i.kind in kinds and not i.opted_out_at and not i.undeliverable_at
            ),
            key=lambda i: (kinds.index(i.kind), i.pk),
        )
        if reachable:  # the address hub.services.handoff picks: preferred kind, oldest first
            options.append(
                {
                    "value": channel,
                    "label": Channel(channel).label,
                    "current": False,
                    "address": reachable[0].value,
                }
            )
    return options


def opt_out_pending(conversation) -> list:
    """The contact's addresses awaiting an agent's opt-out decision (shown in the header)."""
    return list(
        conversation.contact.identities.filter(opt_out_pending_at__isnull=False).order_by("pk")
    )
