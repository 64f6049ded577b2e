"""The agent UI: server-rendered pages and htmx fragments. Reads go through ``hub.selectors`` and
``inbox.selectors`` (agents see only their teams' conversations); every state change calls the
same hub service the REST API calls."""

from __future__ import annotations

import copy
import json
import logging
import re

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import selectors as crm_selectors
from hub import adapters, selectors, services
from hub.models import Channel, Conversation, Message, Temperature
from hub.services import handoff as handoff_service
from hub.services.errors import ServiceError
from hub.services.outbound import ReplyCheck
from inbox import hooks, presenters, understanding
from inbox import selectors as inbox_selectors
from inbox.forms import (
    AssignForm,
    HandoffForm,
    MergeForm,
    NoteForm,
    ProfileForm,
    ReplyForm,
    SnoozeForm,
)
from inbox.middleware import remember_preferences
from inbox.models import AgentProfile

User = get_user_model()
logger = logging.getLogger(__name__)
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}  # as hub.views serves

# Chat guidance when the chat adapter gives none (SCOPE "optimize": one or two sentences).
CHAT_GUIDANCE_CHARS = 280
_SENTENCE_END = re.compile(r"[.!?…](\s|$)")


class LoginView(auth_views.LoginView):
    template_name = "inbox/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


# --- helpers ----------------------------------------------------------------------------------


def _conversation_or_404(request, pk: int) -> Conversation:
    """The conversation if the agent may see it; another team's is a 404 (its existence is not
    revealed)."""
    conversation = inbox_selectors.visible_conversation(request.user, pk)
    if conversation is None:
        raise Http404
    return conversation


def _target(request) -> str:
    return request.htmx.target if request.htmx else ""


class RowPresenter:
    """Everything an inbox row shows, computed in Python once per page (labels, URLs, times):
    a 50-row page renders in a few milliseconds instead of resolving the same lookups per row."""

    def __init__(self, sort: str, query: str):
        self.sort = sort
        self.query = f"?{query}" if query else ""
        self.url = reverse("inbox:conversation", args=[0])[: -len("0/")]
        self.channels = {value: str(label) for value, label in Channel.choices}
        self.statuses = {value: str(label) for value, label in Conversation.Status.choices}
        self.unassigned = _("Unassigned")
        self.prefix = {"note": _("Note:") + " ", "out": _("You:") + " "}

    def __call__(self, conversation, stats) -> dict:
        c = conversation
        stat = stats.get(c.pk, {})
        unread = stat.get("unread", 0)
        preview = stat.get("preview")
        row = {
            "pk": c.pk,
            "key": inbox_selectors.sort_key(c, self.sort),
            "url": f"{self.url}{c.pk}/{self.query}",
            "channel": c.channel,
            "channel_label": self.channels.get(c.channel, c.channel),
            "status": c.status,
            "status_label": self.statuses.get(c.status, c.status),
            "name": str(c.contact),
            "subject": c.subject[:80],
            "assignee": presenters.display_name(c.assignee) if c.assignee_id else self.unassigned,
            "priority": c.priority,
            "temperature": c.temperature,
            "temperature_label": understanding.temperature_label(c.temperature),
            "temperature_title": understanding.temperature_title(c),
            "unread": unread,
            "unread_title": ngettext("%(n)s unread message", "%(n)s unread messages", unread)
            % {"n": unread}
            if unread
            else "",
            "preview": "",
        }
        if preview is not None:
            prefix = ""
            if preview.kind == Message.Kind.NOTE:
                prefix = self.prefix["note"]
            elif preview.direction == Message.Direction.OUTBOUND:
                prefix = self.prefix["out"]
            text = preview.text if len(preview.text) <= 100 else preview.text[:99] + "…"
            row["preview"] = prefix + text
        if c.due_at is not None:
            due = timezone.localtime(c.due_at)
            row["due_iso"] = due.isoformat()
            row["due_text"] = dateformat.format(due, "j M, H:i")
        else:
            activity = timezone.localtime(c.last_activity_at)
            row["activity_iso"] = activity.isoformat()
            row["activity_text"] = dateformat.format(activity, "j M, H:i")
        return row


def _list_context(request, filters) -> dict:
    cursor = request.GET.get("cursor", "")
    page = inbox_selectors.inbox_page(request.user, filters, cursor)
    params = filters.as_params()
    query = urlencode(params)
    present = RowPresenter(filters.sort, query)
    more_query = urlencode({**params, "cursor": page.next_cursor}) if page.next_cursor else ""
    return {
        "filters": filters,
        "filter_query": query,
        "more_url": f"{reverse('inbox:inbox')}?{more_query}" if more_query else "",
        "rows": [present(c, page.stats) for c in page.conversations],
        "page": page,
    }


def _filter_context(request, filters) -> dict:
    return {
        "teams": list(selectors.teams_of(request.user)),
        "channels": Channel.choices,
        "statuses": Conversation.Status.choices,
        "views": [("all", _("All")), ("mine", _("Mine")), ("unassigned", _("Unassigned"))],
        "sorts": [
            ("due", _("Due first")),
            ("recent", _("Latest activity")),
            ("temperature", _("Hottest first")),
        ],
        "temperatures": Temperature.choices,
    }


def _list_fragment(request, filters):
    context = _list_context(request, filters)
    if request.GET.get("cursor"):
        return render(request, "inbox/_rows.html", context)
    return render(request, "inbox/_list.html", context)


def _present_items(items: list[Message]) -> list[Message]:
    """Attach what the templates show (event text in the agent's language, email parts)."""
    users = presenters.users_by_id(presenters.event_user_ids(items))
    for item in items:
        item.position = inbox_selectors.encode_position(item)
        item.sort_key = inbox_selectors.item_sort_key(item)
        if item.kind == Message.Kind.EVENT:
            item.event_label = presenters.event_text(item, users)
            item.event_level = presenters.EVENT_LEVELS.get(item.event_type, "info")
        item.body_text, item.original_text = item.text, ""
        item.also_to = []
        item.forwarded, item.bounce = None, None
        if item.channel == Channel.EMAIL and item.direction == Message.Direction.INBOUND:
            item.body_text, item.original_text = presenters.email_parts(item)
            item.forwarded = presenters.forwarded(item)
            if item.forwarded and item.forwarded["with_note"]:
                item.original_text = ""  # the forwarded message is shown folded, on its own
            item.bounce = presenters.bounce(item)
        if item.direction == Message.Direction.INBOUND:
            item.also_to = presenters.also_to(item)
        item.threading = presenters.threading_text(item)
        item.files = [
            {"a": a, "image": a.content_type in INLINE_IMAGES} for a in item.attachments.all()
        ]
    return items


def _header_context(request, conversation: Conversation) -> dict:
    team_members = list(
        conversation.team.members.filter(is_active=True).order_by("first_name", "username")
    )
    options = inbox_selectors.channel_options(conversation)
    return {
        "c": conversation,
        "team_members": team_members,
        "channel_options": options,
        "handoff_options": [o for o in options if not o["current"]],
        "can_request_email": hooks.can_request_email(conversation),
        "snooze_presets": SnoozeForm().fields["preset"].choices,
        "countdown": presenters.countdown_seconds(conversation.due_at),
        "opt_out_pending": inbox_selectors.opt_out_pending(conversation),
    }


def _pane_context(request, conversation: Conversation) -> dict:
    items, more_before = inbox_selectors.timeline_window(conversation)
    _present_items(items)
    newest = max((item.pk for item in items), default=0)
    inbox_selectors.mark_read(request.user, conversation, newest)
    contact = conversation.contact
    attributes = []
    for key, value in sorted((contact.attributes or {}).items()):
        if isinstance(value, dict) and "value" in value:
            value = value["value"]
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False)
        attributes.append((key, value))
    return {
        **_header_context(request, conversation),
        "items": items,
        "more_before": more_before,
        "earliest": items[0].position if items else "",
        "contact": contact,
        "identities": list(contact.identities.all()),
        "claims": crm_selectors.unproven_claims(contact),
        "attributes": attributes,
        "page_views": inbox_selectors.recent_page_views(contact),
        "language_choices": understanding.language_choices(contact),
        "earlier": inbox_selectors.earlier_conversations(request.user, conversation),
        "composer_mode": "reply",
    }


def _filters(request):
    return inbox_selectors.parse_filters(request.GET, request.user)


# --- pages ------------------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request):
    filters = _filters(request)
    if request.htmx and (_target(request) == "list" or request.GET.get("cursor")):
        return _list_fragment(request, filters)
    context = {**_list_context(request, filters), **_filter_context(request, filters)}
    return render(request, "inbox/inbox.html", context)


@login_required
@require_GET
def conversation_row(request, pk: int):
    """One inbox row, for live updates: 204 when the conversation no longer matches the filters
    (the page removes the row)."""
    filters = _filters(request)
    conversation = inbox_selectors.conversation_row(request.user, filters, pk)
    if conversation is None:
        return HttpResponse(status=204)
    stats = inbox_selectors.row_stats(request.user, [conversation])
    present = RowPresenter(filters.sort, urlencode(filters.as_params()))
    return render(
        request,
        "inbox/_row.html",
        {
            "row": present(conversation, stats),
            "filter_query": urlencode(filters.as_params()),
        },
    )


@login_required
@require_GET
def conversation_detail(request, pk: int):
    filters = _filters(request)
    if request.htmx and _target(request) == "list":
        return _list_fragment(request, filters)
    conversation = _conversation_or_404(request, pk)
    context = {
        **_pane_context(request, conversation),
        "filter_query": urlencode(filters.as_params()),
    }
    if request.htmx and _target(request) == "pane":
        return render(request, "inbox/_pane.html", context)
    context.update(_list_context(request, filters))
    context.update(_filter_context(request, filters))
    return render(request, "inbox/inbox.html", context)


@login_required
@require_GET
def conversation_header(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    context = {**_header_context(request, conversation), "oob_channel": True}
    return render(request, "inbox/_header.html", context)


@login_required
@require_GET
def timeline(request, pk: int):
    """Timeline items: ``?after=<id>`` (and ``include=<id>``) for what arrived since the page
    last looked (live updates, resync after a reconnect), ``?before=<position>`` for earlier
    ones."""
    conversation = _conversation_or_404(request, pk)
    before = request.GET.get("before")
    if before:
        position = inbox_selectors.decode_position(before)
        if position is None:
            return HttpResponse(status=400)
        items, more_before = inbox_selectors.timeline_window(conversation, before=position)
        _present_items(items)
        return render(
            request,
            "inbox/_timeline_items.html",
            {
                "c": conversation,
                "items": items,
                "more_before": more_before,
                "earliest": items[0].position if items else "",
            },
        )
    after = request.GET.get("after", "0")
    include = [int(v) for v in request.GET.getlist("include") if v.isascii() and v.isdigit()][:50]
    if not (after.isascii() and after.isdigit()):
        return HttpResponse(status=400)
    items = inbox_selectors.timeline_since(conversation, int(after), include)
    _present_items(items)
    if items:
        inbox_selectors.mark_read(request.user, conversation, max(item.pk for item in items))
    return render(request, "inbox/_timeline_items.html", {"c": conversation, "items": items})


# --- composer ---------------------------------------------------------------------------------


def _reply_check(conversation: Conversation, text: str, channel: str) -> tuple[ReplyCheck, dict]:
    """``services.check_reply`` for the draft, on the chosen channel: another channel than the
    conversation's means a handoff first, so the rules shown are the target's."""
    handoff = {}
    target = conversation
    if channel and channel != conversation.channel:
        try:
            endpoint, address = handoff_service.plan(conversation, channel)
        except ServiceError as exc:
            return ReplyCheck(False, exc.message, exc.code, []), handoff
        target = copy.copy(conversation)
        target.endpoint = endpoint
        target.channel = channel
        handoff = {"channel": Channel(channel).label, "address": address.value}
    check = services.check_reply(target, text)
    notices = list(check.notices)
    has_length_notice = any("long" in n.code or "length" in n.code for n in notices)
    if target.channel == Channel.CHAT and not has_length_notice and _long_for_chat(text):
        notices.append(
            adapters.ComposeNotice(
                "chat_length",
                _(
                    "Long for chat: keep it to one or two short sentences; send longer content "
                    "as a link or move the conversation to email."
                ),
                level="warning",
            )
        )
    return ReplyCheck(check.allowed, check.reason, check.code, notices), handoff


def _signal_typing(request, conversation: Conversation, *, active: bool) -> None:
    """The debounced draft check doubles as the "agent is typing" signal where the channel shows
    one (live chat), through ``hub.services.agent_typing`` when the hub has it."""
    typing = hooks.agent_typing_service()
    if typing is None or conversation.channel != Channel.CHAT:
        return
    try:
        typing(conversation, by=request.user, active=active)
    except Exception:  # a typing indicator never fails the check
        logger.warning("agent typing signal failed", exc_info=True)


def _long_for_chat(text: str) -> bool:
    text = text.strip()
    return len(text) > CHAT_GUIDANCE_CHARS or len(_SENTENCE_END.findall(text)) > 2


@login_required
@require_POST
def reply_check(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    if request.POST.get("mode") == "note":
        return render(request, "inbox/_notices.html", {"note_mode": True})
    form = ReplyForm(request.POST)
    form.is_valid()
    text = form.cleaned_data.get("text", "")
    channel = form.cleaned_data.get("channel") or conversation.channel
    check, handoff = _reply_check(conversation, text, channel)
    _signal_typing(request, conversation, active=bool(text.strip()) and not handoff)
    return render(
        request, "inbox/_notices.html", {"check": check, "handoff": handoff, "text": text}
    )


def _composer_response(request, conversation, *, mode, text="", error="", status=200):
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("inbox:conversation", pk=conversation.pk)
    conversation = _conversation_or_404(request, conversation.pk)
    context = {
        **_header_context(request, conversation),
        "composer_mode": mode,
        "draft": text,
        "error": error,
        "sent": not error,
        "oob_header": True,
    }
    response = render(request, "inbox/_composer.html", context, status=status)
    if not error:
        response["HX-Trigger"] = json.dumps({"inbox:changed": {"id": conversation.pk}})
    return response


@login_required
@require_POST
def compose(request, pk: int):
    """Send a reply (on the chosen channel: another one hands the thread off first, in the same
    transaction, so a refused reply leaves the conversation where it was) or add a note."""
    conversation = _conversation_or_404(request, pk)
    mode = "note" if request.POST.get("mode") == "note" else "reply"
    files = request.FILES.getlist("attachments")
    if mode == "note":
        if files:
            return _composer_response(
                request,
                conversation,
                mode=mode,
                text=request.POST.get("text", ""),
                error=_("Notes take no files: send them with a reply."),
                status=422,
            )
        form = NoteForm(request.POST)
        if not form.is_valid() or not form.cleaned_data["text"].strip():
            return _composer_response(
                request, conversation, mode=mode, error=_("Write the note first."), status=422
            )
        try:
            services.add_note(conversation, author=request.user, text=form.cleaned_data["text"])
        except ServiceError as exc:
            return _composer_response(
                request,
                conversation,
                mode=mode,
                text=form.cleaned_data["text"],
                error=exc.message,
                status=422,
            )
        return _composer_response(request, conversation, mode=mode)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        error = "; ".join(e for errors in form.errors.values() for e in errors)
        return _composer_response(request, conversation, mode=mode, error=error, status=422)
    text = form.cleaned_data["text"]
    if not text.strip() and not files:
        return _composer_response(
            request, conversation, mode=mode, error=_("Write a reply first."), status=422
        )
    channel = form.cleaned_data["channel"] or conversation.channel
    try:
        attachments = services.uploaded_attachments(files)
        with transaction.atomic():
            if channel != conversation.channel:
                conversation = handoff_service.handoff(
                    conversation, channel=channel, by=request.user
                )
            services.send_reply(
                conversation, text=text, attachments=attachments, author=request.user
            )
    except (adapters.OutboundRefused, ServiceError) as exc:
        error = exc.reason if isinstance(exc, adapters.OutboundRefused) else exc.message
        if files:  # a browser cannot put the chosen files back into the form
            again = _("Attach the files again.")
            error = f"{error} {again}"
        return _composer_response(
            request, conversation, mode=mode, text=text, error=error, status=422
        )
    return _composer_response(request, conversation, mode=mode)


# --- conversation actions ---------------------------------------------------------------------


def _action_response(request, conversation, *, error: str = "", status: int = 200):
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("inbox:conversation", pk=conversation.pk)
    conversation = _conversation_or_404(request, conversation.pk)
    context = {**_header_context(request, conversation), "error": error, "oob_channel": True}
    response = render(request, "inbox/_header.html", context, status=status)
    if not error:
        response["HX-Trigger"] = json.dumps({"inbox:changed": {"id": conversation.pk}})
    return response


def _run(request, conversation, action):
    try:
        action()
    except ServiceError as exc:
        return _action_response(request, conversation, error=exc.message, status=422)
    except adapters.OutboundRefused as exc:
        return _action_response(request, conversation, error=exc.reason, status=422)
    return _action_response(request, conversation)


@login_required
@require_POST
def assign(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _action_response(
            request, conversation, error=_("Choose a member of the team."), status=422
        )
    value = form.cleaned_data["assignee"]
    if value == "me":
        assignee = request.user
    elif value == "":
        assignee = None
    else:
        assignee = User.objects.filter(pk=value, is_active=True).first()
        if assignee is None:
            return _action_response(
                request, conversation, error=_("Choose a member of the team."), status=422
            )
    return _run(
        request,
        conversation,
        lambda: services.assign(conversation, assignee=assignee, by=request.user),
    )


@login_required
@require_POST
def resolve(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    return _run(request, conversation, lambda: services.resolve(conversation, by=request.user))


@login_required
@require_POST
def reopen(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    return _run(request, conversation, lambda: services.reopen(conversation, by=request.user))


@login_required
@require_POST
def merge(request, pk: int):
    """Move another conversation of the same contact (``source``) into this one; the page
    reloads with the joined timeline."""
    conversation = _conversation_or_404(request, pk)
    form = MergeForm(request.POST)
    source = (
        inbox_selectors.visible_conversation(request.user, form.cleaned_data["source"])
        if form.is_valid()
        else None
    )
    if source is None:
        return _action_response(
            request, conversation, error=_("Choose a conversation to merge."), status=422
        )
    try:
        services.merge_conversations(conversation, source, by=request.user)
    except ServiceError as exc:
        return _action_response(request, conversation, error=exc.message, status=422)
    url = reverse("inbox:conversation", args=[conversation.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Location"] = json.dumps({"path": url, "target": "#pane"})
        return response
    return redirect(url)


@login_required
@require_POST
def pending(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    return _run(request, conversation, lambda: services.mark_pending(conversation, by=request.user))


@login_required
@require_POST
def snooze(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    form = SnoozeForm(request.POST)
    if not form.is_valid() or not form.cleaned_data.get("moment"):
        error = "; ".join(e for errors in form.errors.values() for e in errors)
        return _action_response(
            request, conversation, error=error or _("Pick the time to snooze until."), status=422
        )
    until = form.cleaned_data["moment"]
    return _run(
        request, conversation, lambda: services.snooze(conversation, until=until, by=request.user)
    )


@login_required
@require_POST
def handoff(request, pk: int):
    conversation = _conversation_or_404(request, pk)
    form = HandoffForm(request.POST)
    if not form.is_valid():
        return _action_response(
            request, conversation, error=_("Choose a channel to hand off to."), status=422
        )
    channel = form.cleaned_data["channel"]
    return _run(
        request,
        conversation,
        lambda: handoff_service.handoff(conversation, channel=channel, by=request.user),
    )


@login_required
@require_POST
def request_email(request, pk: int):
    """HOOK (channels_chat): ask the chat visitor for their email through the hub-level service
    the chat channel provides (see ``inbox.hooks``); 404 while none exists."""
    conversation = _conversation_or_404(request, pk)
    service = hooks.request_email_service()
    if service is None or conversation.channel != Channel.CHAT:
        raise Http404
    return _run(request, conversation, lambda: service(conversation, by=request.user))


# --- preferences ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    profile = AgentProfile.objects.filter(user=request.user).first() or AgentProfile(
        user=request.user
    )
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        profile = form.save()
        remember_preferences(request, profile.language, profile.time_zone)
        return redirect("inbox:inbox")
    return render(request, "inbox/preferences.html", {"form": form})
