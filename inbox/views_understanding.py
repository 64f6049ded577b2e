"""The agent's choice of a contact's language, from the contact panel."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.services import choose_language
from inbox import understanding
from inbox.views import _conversation_or_404

_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


@login_required
@require_POST
def contact_language(request, pk: int):
    """Set (or, empty, forget) the language chosen for the conversation's contact: it wins over
    the language learned from their messages."""
    conversation = _conversation_or_404(request, pk)
    contact = conversation.contact
    language = request.POST.get("language", "").strip().lower()
    context = {"c": conversation, "contact": contact}
    status = 200
    if language and not _LANGUAGE_CODE.fullmatch(language):
        context["error"] = _("Choose a language from the list.")
        status = 422
    else:
        choose_language(contact, language)
    context["language_choices"] = understanding.language_choices(contact)
    return render(request, "inbox/_contact_language.html", context, status=status)
