"""DRF token authentication with the token and its user read by a query compiled once.

Every API call authenticates. DRF's ``Token.objects.select_related("user").get(key=...)`` builds
and compiles the same join through the ORM on each request, which on a small request such as
``POST /api/v1/inbound/`` costs more CPU than the database round trip itself (see
``config.prepared``). The behaviour is DRF's: same header, same errors, ``request.auth`` is the
``Token`` and ``request.user`` its user.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from config.prepared import PreparedQuery

_token = PreparedQuery(
    lambda key: Token.objects.select_related("user").filter(key=key),
    key=str,
)


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        token = _token.first(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
