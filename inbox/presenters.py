"""How timeline items read in the agent's language.

The hub stores events with an English ``text`` and structured ``metadata``; here the known event
types are told again from the metadata in the active language. An event type this module does not
know (a channel app's own) shows its stored text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from hub.models import Channel, Message


def display_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def duration_text(seconds: int | float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    if seconds < 120:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = seconds // 60
    if minutes < 120:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        text = ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
        if minutes:
            text += " " + ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
        return text
    days = hours // 24
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


def moment_text(value) -> str:
    """An ISO timestamp from event metadata, in the agent's time zone and language."""
    moment = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return str(value or "")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return formats.date_format(timezone.localtime(moment), "j M Y, H:i")


def channel_label(value: str) -> str:
    try:
        return str(Channel(value).label)
    except ValueError:
        return value or ""


def event_user_ids(items) -> set[int]:
    """User ids that event texts name (assignments, escalations), to load them in one query."""
    ids = set()
    for item in items:
        if item.kind != Message.Kind.EVENT:
            continue
        change = (item.metadata or {}).get("assignee_id")
        if isinstance(change, list) and len(change) == 2 and isinstance(change[1], int):
            ids.add(change[1])
    return ids


def users_by_id(ids) -> dict[int, object]:
    if not ids:
        return {}
    return {u.pk: u for u in get_user_model().objects.filter(pk__in=ids)}


def event_text(item: Message, users: dict[int, object]) -> str:
    meta = item.metadata or {}
    kind = item.event_type
    if kind == "assigned":
        change = meta.get("assignee_id") or [None, None]
        user = users.get(change[1]) if isinstance(change, list) and len(change) == 2 else None
        if user is not None:
            return _("Assigned to %(name)s") % {"name": display_name(user)}
        if isinstance(change, list) and len(change) == 2 and change[1] is None:
            return _("Unassigned")
    elif kind == "team_changed":
        return _("Moved to another team") if not item.text else _translated_team(item.text)
    elif kind == "priority_raised" and isinstance(meta.get("priority"), list):
        from inbox.understanding import reason_text, temperature_label

        return _(
            "Priority raised from %(before)s to %(after)s: temperature %(level)s (%(why)s)"
        ) % {
            "before": meta["priority"][0],
            "after": meta["priority"][-1],
            "level": temperature_label(meta.get("temperature", "")),
            "why": ", ".join(reason_text(code) for code in meta.get("reasons", ())),
        }
    elif kind == "resolved":
        return _("Resolved")
    elif kind == "reopened":
        return _("Reopened")
    elif kind == "pending":
        return _("Waiting for the person")
    elif kind == "snoozed" and meta.get("until"):
        return _("Snoozed until %(time)s") % {"time": moment_text(meta["until"])}
    elif kind == "snooze_ended":
        return _("Snooze ended")
    elif kind == "handoff" and meta.get("to"):
        return _("Handed off from %(source)s to %(target)s (%(address)s)") % {
            "source": channel_label(meta.get("from", "")),
            "target": channel_label(meta["to"]),
            "address": meta.get("address", ""),
        }
    elif kind == "opt_out_suggested":
        if meta.get("intent") == "opt_in":
            return _("Looks like an opt-in: confirm?")
        return _("Looks like an opt-out: confirm?")
    elif kind == "opt_out_confirmed":
        return _("Suggested opt-out confirmed")
    elif kind == "opt_out_dismissed":
        return _("Suggested opt-out dismissed")
    elif kind == "sla_started" and meta.get("due_at"):
        return _("Reply due by %(time)s") % {"time": moment_text(meta["due_at"])}
    elif kind == "sla_warning" and meta.get("due_at"):
        return _("TTL warning: reply due by %(time)s") % {"time": moment_text(meta["due_at"])}
    elif kind == "sla_stopped" and "waited_seconds" in meta:
        waited = duration_text(meta["waited_seconds"])
        if meta.get("reason", "reply") == "reply":
            text = _("Answered after %(time)s") % {"time": waited}
        else:
            text = _("Clock stopped (%(reason)s) after %(time)s") % {
                "reason": _reason_text(meta.get("reason", "")),
                "time": waited,
            }
        return text + ", " + _("past the TTL") if meta.get("breached") else text
    elif kind == "sla_paused" and "remaining_seconds" in meta:
        return _("Clock paused, %(time)s left") % {"time": duration_text(meta["remaining_seconds"])}
    elif kind == "sla_resumed" and "remaining_seconds" in meta:
        return _("Clock resumed, %(time)s left") % {
            "time": duration_text(meta["remaining_seconds"])
        }
    elif kind == "sla_breached" and "waited_seconds" in meta:
        text = _("TTL missed: waiting %(time)s") % {"time": duration_text(meta["waited_seconds"])}
        if meta.get("ttl_seconds"):
            text += ", " + _("TTL %(time)s") % {"time": duration_text(meta["ttl_seconds"])}
        return text
    elif kind == "sla_resolution_breached":
        return _("Resolution TTL missed")
    elif kind == "escalated":
        change = meta.get("assignee_id")
        user = users.get(change[1]) if isinstance(change, list) and len(change) == 2 else None
        if user is not None:
            return _("Escalated to %(name)s") % {"name": display_name(user)}
        if "team_id" in meta:
            return _("Escalated to another team")
        return _("Priority raised")
    elif kind == "conversation_merged" and isinstance(meta.get("merged"), int):
        return _("Conversation #%(id)d merged into this one") % {"id": meta["merged"]}
    elif kind == "merged_into" and isinstance(meta.get("into"), int):
        return _("Merged into conversation #%(id)d") % {"id": meta["into"]}
    elif kind == "auto_reply_received":
        return _("Automatic reply received; the conversation stays resolved.")
    elif kind == "bounce_received":
        return _("Delivery failure report received; the conversation stays resolved.")
    elif kind == "email_soft_bounce" and meta.get("address"):
        return _("Delivery to %(address)s delayed (%(status)s); the address stays usable.") % {
            "address": meta["address"],
            "status": meta.get("status", ""),
        }
    elif kind.startswith(("identity_", "chat_contact_details")):
        return _identity_text(kind, meta) or item.text or kind.replace("_", " ")
    return item.text or kind.replace("_", " ")


def _identity_text(kind: str, meta: dict) -> str:
    """The events of claimed and proven addresses (``crm.verification``)."""
    address = str(meta.get("address") or meta.get("email") or "")
    if kind == "chat_contact_details":
        name = str(meta.get("name") or "")
        if address:
            text = _("The visitor says they are %(address)s — not verified.") % {"address": address}
            if name:
                text = _("The visitor gave the name %(name)s.") % {"name": name} + " " + text
            if isinstance(meta.get("owner_contact_id"), int):
                text += " " + _(
                    "That address belongs to contact #%(id)d: nothing is joined until it is "
                    "verified."
                ) % {"id": meta["owner_contact_id"]}
            return text
        return _("The visitor gave the name %(name)s.") % {"name": name} if name else ""
    if kind == "identity_code_sent":
        return _("Verification code sent to %(address)s") % {"address": address}
    if kind == "identity_verification_locked":
        return _("Too many wrong codes for %(address)s: the code is void") % {"address": address}
    if kind == "identity_verified":
        method = {"code": _("one-time code"), "link": _("one-time link"), "agent": _("agent")}
        text = _("%(address)s verified (%(method)s)") % {
            "address": address,
            "method": method.get(meta.get("method"), meta.get("method") or ""),
        }
        if isinstance(meta.get("kept_contact_id"), int):
            text += "; " + _("this contact was merged into %(name)s (#%(id)d)") % {
                "name": meta.get("kept_name") or "",
                "id": meta["kept_contact_id"],
            }
        return text
    return ""


def _reason_text(reason: str) -> str:
    return {"resolved": _("resolved"), "reply": _("reply"), "merged": _("merged")}.get(
        reason, reason
    )


def _translated_team(text: str) -> str:
    prefix = "Moved to team "
    if text.startswith(prefix):
        return _("Moved to team %(team)s") % {"team": text[len(prefix) :]}
    return text


EVENT_LEVELS = {
    "sla_warning": "warning",
    "sla_breached": "error",
    "sla_resolution_breached": "error",
    "escalated": "error",
    "priority_raised": "warning",
    "handoff_failed": "error",
    "handoff": "info",
    "opt_out_suggested": "warning",
    "identity_verification_locked": "warning",
}


def email_parts(item: Message) -> tuple[str, str]:
    """``(visible, quoted)`` of an email: the text the person just wrote (the message's text),
    and what the full original body adds to it (the quoted history and signature).
    ``channels_email`` keeps that original in ``metadata["email"]["original_text"]`` when it
    differs from the visible text; one that does not start with the visible text is shown whole.
    Without one, ""."""
    meta = item.metadata or {}
    email = meta.get("email") if isinstance(meta.get("email"), dict) else {}
    original = email.get("original_text")
    if not isinstance(original, str) or original.strip() == item.text.strip():
        return item.text, ""
    visible = item.text.strip()
    rest = original.strip()
    if visible and rest.startswith(visible):
        rest = rest[len(visible) :].strip()
    return item.text, rest


def _email_meta(item: Message) -> dict:
    meta = item.metadata if isinstance(item.metadata, dict) else {}
    email = meta.get("email")
    return email if isinstance(email, dict) else {}


def forwarded(item: Message) -> dict | None:
    """The message an email forwards (``metadata["email"]["forwarded"]``: from, date, subject,
    to, text, with_note), or None. Without a note the forwarded message is the text itself."""
    found = _email_meta(item).get("forwarded")
    if not isinstance(found, dict):
        return None
    return {
        key: str(found.get(key) or "") for key in ("from", "date", "subject", "to", "cc", "text")
    } | {"with_note": bool(found.get("with_note"))}


def bounce(item: Message) -> list[dict] | None:
    """The failed recipients of a bounce (address, status, hard), or None."""
    if not item.is_bounce:
        return None
    found = _email_meta(item).get("bounce")
    recipients = found.get("recipients") if isinstance(found, dict) else None
    if not isinstance(recipients, list):
        return []
    return [
        {
            "address": str(entry.get("address", "")),
            "status": str(entry.get("status", "")),
            "hard": bool(entry.get("hard")),
            "diagnostic": str(entry.get("diagnostic", "")),
        }
        for entry in recipients
        if isinstance(entry, dict)
    ]
def threading_text(item: Message) -> str:
    """Which threading rule put the message in this conversation (``hub.services.thread_rules``),
    told in the agent's language; "" where none was recorded."""
    rule = ((item.metadata or {}).get("threading") or {}).get("rule")
    labels = {
        "reply_token": _("our reply address"),
        "references": _("its In-Reply-To/References headers name a message of this conversation"),
        "reverse_references": _("a reply in this conversation names it (it arrived later)"),
        "subject_ref": _("the [#number] in its subject"),
        "subject": _("its subject (no thread headers): the same person, the same mailbox"),
        "contact_latest": _("the person's latest conversation on this channel"),
        "new": _("nothing matched: it opened a conversation"),
    }
    return labels.get(rule, "") if isinstance(rule, str) else ""


def also_to(item: Message) -> list[str]:
    """The other people an inbound message was addressed to (email's To and Cc), whom a reply
    copies: ``metadata["participants"]``, or ``metadata["email"]["participants"]`` of email
    stored before the hub listed them itself."""
    meta = item.metadata if isinstance(item.metadata, dict) else {}
    email = meta.get("email") if isinstance(meta.get("email"), dict) else {}
    participants = meta.get("participants") or email.get("participants") or []
    if not isinstance(participants, list):
        return []
    return [
        str(entry["address"])
        for entry in participants
        if isinstance(entry, dict) and entry.get("address")
    ]


def countdown_seconds(due_at: datetime | None) -> int | None:
    if due_at is None:
        return None
    return int((due_at - timezone.now()) / timedelta(seconds=1))
