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

The request's thread is reused: Django's ``ThreadSensitiveContext`` makes a new one-thread
executor per request and, when the request ends, starts yet another thread to join it; that was
a tenth of the process's CPU on the ingest benchmark. Here a request borrows an idle one-thread
executor (asgiref's ``ThreadSensitiveContext(executor=...)``) and gives it back when it ends
normally, as a WSGI server's worker threads serve one request after another. What a thread keeps
between requests is what it keeps under WSGI: Django closes or returns its database connection
on ``request_finished``. When the client disconnects, Django's handler still waits for the view
and then closes the connection on the same thread, before the executor is given back; an
executor whose request raised or was cancelled may still be running sync code, so it is shut
down instead of reused.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler

IDLE_THREADS_MAX = 32  # idle request threads kept per process; more are shut down


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        self._idle: list[ThreadPoolExecutor] = []
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._idle.pop() if self._idle else self._new_executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        if len(self._idle) < IDLE_THREADS_MAX:
            self._idle.append(executor)
        else:
            executor.shutdown(wait=False)

    @staticmethod
    def _new_executor() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="http-request")


def get_asgi_application() -> SyncChainASGIHandler:
    """``django.core.asgi.get_asgi_application`` with the handler above."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
