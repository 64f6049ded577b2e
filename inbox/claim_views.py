"""The agent's actions on an address the person claimed (``crm.verification``): email them a
one-time code, or verify it by the agent's own decision (merging into the contact that has the
address). Both act on the contact of a conversation the agent may see."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.models import IdentityClaim
from crm.verification import VerificationError
from hub import adapters
from hub.models import Conversation
from hub.services import verification as verification_service
from inbox.views import _action_response, _conversation_or_404


def _claim_or_404(conversation: Conversation, claim_id: int) -> IdentityClaim:
    """A claim of the conversation's contact: agents act on the person they are talking to."""
    claim = IdentityClaim.objects.filter(pk=claim_id, contact_id=conversation.contact_id).first()
    if claim is None:
        raise Http404
    return claim


def _claim_action(request, conversation: Conversation, action, done: str):
    try:
        action()
    except VerificationError as exc:
        return _action_response(request, conversation, error=exc.message, status=422)
    except adapters.OutboundRefused as exc:
        return _action_response(request, conversation, error=exc.reason, status=422)
    messages.success(request, done)
    url = reverse("inbox:conversation", args=[conversation.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Location"] = json.dumps({"path": url, "target": "#pane"})
        return response
    return redirect(url)


@login_required
@require_POST
def send_code(request, pk: int, claim_id: int):
    """Email a one-time code to an address the person claimed; they enter it in the chat."""
    conversation = _conversation_or_404(request, pk)
    claim = _claim_or_404(conversation, claim_id)
    return _claim_action(
        request,
        conversation,
        lambda: verification_service.send_code(claim, conversation=conversation, by=request.user),
        _("A verification code was sent to %(address)s.") % {"address": claim.value},
    )


@login_required
@require_POST
def verify(request, pk: int, claim_id: int):
    """The agent's explicit decision that the claim is true: verified, and this contact merged
    into the one that has the address (recorded with the agent)."""
    conversation = _conversation_or_404(request, pk)
    claim = _claim_or_404(conversation, claim_id)
    return _claim_action(
        request,
        conversation,
        lambda: verification_service.verify_by_agent(
            claim, by=request.user, conversation=conversation
        ),
        _("%(address)s is verified.") % {"address": claim.value},
    )
