"""The HTTP side of the ASGI server: Django's handler, crossing into a thread once per request.

Every view and middleware of this project is synchronous. Django's ``ASGIHandler`` builds its
middleware chain for async mode, so a request crosses between the event loop and its worker
thread at every middleware that can run both ways (``MiddlewareMixin`` runs its
``process_request`` / ``process_response`` / ``process_view`` through ``sync_to_async`` one by
one) and once more around the view: about eight crossings per request, each a future, a
thread hand-off and a context copy on the single event-loop thread that every request and
WebSocket of the process shares. Measured on the ingest benchmark, those crossings were a fifth
of the process's CPU time.

``SyncChainASGIHandler`` builds the chain in sync mode, as under WSGI, and runs the whole of it
in one ``sync_to_async`` call, in the request's own thread (``ThreadSensitiveContext``, as
Django does). Django's documentation describes exactly this for an all-sync stack ("it will
switch just once, before it enters the middleware stack"); this makes it true for a stack that
mixes sync-only and sync-and-async middleware. An async view, should one appear, still works:
Django's sync path runs it with ``async_to_sync``, on the server's event loop.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


def get_asgi_application() -> SyncChainASGIHandler:
    """``django.core.asgi.get_asgi_application`` with the handler above."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
