"""Anymail's webhook URLs (``/anymail/<esp>/inbound/``, ``/anymail/<esp>/tracking/``), mounted
so that none of them takes an unauthenticated request.

Anymail itself accepts everything when ``ANYMAIL_WEBHOOK_SECRET`` is unset (it only warns), and
answers 500 when an ESP's signing key is missing (``ImproperlyConfigured``). Here each of its
views is run behind a guard that answers 503 with the reason instead:

- the view has no basic-auth secret and its ESP signs nothing we can check (Anymail's own test,
  ``warn_if_no_basic_auth``: Mailgun, MailerSend, Mandrill, Postal, Unisender Go and Resend with
  a signing secret verify a signature instead);
- the ESP needs a setting that is not set (a signing key), or Anymail finds the ESP's webhook
  misconfigured (a tracking event sent to the inbound URL): ``ImproperlyConfigured``.

503, not 200: the ESP keeps the message and retries, so nothing is lost once the deployer sets
the secret. ``checks.anymail_webhook_secret`` warns about the first case at start.
"""

from __future__ import annotations

import logging

from anymail import urls as anymail_urls
from anymail.webhooks.mandrill import MandrillCombinedWebhookView
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)

HINT = (
    'Anymail webhooks need ANYMAIL_WEBHOOK_SECRET ("user:password", given to the ESP in the '
    "webhook URL) and, for ESPs that sign their webhooks, their signing key."
)


def _unavailable(request, reason: str) -> HttpResponse:
    logger.warning("%s %s refused (503): %s", request.method, request.path, reason)
    return HttpResponse(
        f"This email webhook is not configured on this hub: {reason}\n{HINT}\n",
        status=503,
        content_type="text/plain; charset=utf-8",
    )


def _unauthenticated(view) -> str | None:
    """Why ``view`` (an instance) would accept anyone's request, or None."""
    if view.warn_if_no_basic_auth and not view.basic_auth:
        return "ANYMAIL_WEBHOOK_SECRET is not set, so anyone could post to this URL."
    if isinstance(view, MandrillCombinedWebhookView) and view.webhook_key is None:
        # Mandrill's view defers its missing-key error to the POST (so HEAD checks pass).
        return "ANYMAIL_MANDRILL_WEBHOOK_KEY is not set."
    return None


def guarded(view_function):
    """``view_function`` (an Anymail ``as_view()``), refusing with 503 when unauthenticated or
    not configured. Runs the view as ``View.as_view`` does: instance, ``setup``, ``dispatch``."""
    view_class, initkwargs = view_function.view_class, view_function.view_initkwargs

    @csrf_exempt
    def guarded_view(request, *args, **kwargs):
        try:
            view = view_class(**initkwargs)
        except ImproperlyConfigured as exc:
            return _unavailable(request, str(exc))
        reason = _unauthenticated(view)
        if reason:
            return _unavailable(request, reason)
        view.setup(request, *args, **kwargs)
        try:
            return view.dispatch(request, *args, **kwargs)
        except ImproperlyConfigured as exc:
            return _unavailable(request, str(exc))

    guarded_view.view_class = view_class
    guarded_view.view_initkwargs = initkwargs
    return guarded_view


app_name = anymail_urls.app_name
urlpatterns = [
    URLPattern(p.pattern, guarded(p.callback), p.default_args, p.name)
    for p in anymail_urls.urlpatterns
]
