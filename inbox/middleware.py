"""Apply the signed-in agent's language and time zone (``AgentProfile``) to the request.

Runs after ``AuthenticationMiddleware``. The preferences are cached in the session (one query on
the first request of a session, none after); saving them through the UI refreshes the cache.
Without a profile, ``LocaleMiddleware``'s choice (the browser's language) and the server's time
zone stay.
"""

from __future__ import annotations

import zoneinfo

from django.utils import timezone, translation

SESSION_KEY = "inbox.prefs"


def load_preferences(user) -> tuple[str, str]:
    from inbox.models import AgentProfile

    found = AgentProfile.objects.filter(user=user).values_list("language", "time_zone").first()
    return found or ("", "")


def remember_preferences(request, language: str, time_zone: str) -> None:
    request.session[SESSION_KEY] = [request.user.pk, language, time_zone]


class AgentPreferencesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language, zone = self._preferences(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        if zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone = ""
        try:
            return self.get_response(request)
        finally:
            if zone:
                timezone.deactivate()

    def _preferences(self, request) -> tuple[str, str]:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not hasattr(request, "session"):
            return "", ""
        cached = request.session.get(SESSION_KEY)
        if isinstance(cached, list) and len(cached) == 3 and cached[0] == user.pk:
            return cached[1], cached[2]
        language, zone = load_preferences(user)
        remember_preferences(request, language, zone)
        return language, zone
