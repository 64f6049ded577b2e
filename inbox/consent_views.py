"""The agent's one-click answer to an opt-out (or opt-in) suggestion: confirm or dismiss. The
decision is ``hub.services.consent.decide``, the same service the REST API calls."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hub.services import consent
from inbox.forms import OptOutDecisionForm
from inbox.views import _action_response, _conversation_or_404, _run


@login_required
@require_POST
def opt_out_decision(request, pk: int):
    conversation = _conversation_or_404(request, pk)  # another team's: 404
    form = OptOutDecisionForm(request.POST)
    if not form.is_valid():
        return _action_response(
            request, conversation, error=_("Choose to confirm or dismiss."), status=422
        )
    return _run(
        request,
        conversation,
        lambda: consent.decide(
            conversation,
            form.cleaned_data["identity"],
            form.cleaned_data["decision"],
            by=request.user,
        ),
    )
