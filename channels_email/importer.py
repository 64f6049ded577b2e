"""The pipeline behind ``import_mail``: many emails from a mailbox file into the hub, in order.

- Parsing (MIME, charsets, reply and quote splitting) is CPU work without the database: with
  ``workers`` > 0 it runs in that many worker processes, a few messages per task, while this
  process writes the previous ones. Results come back in the source's order, and only this
  process writes, in that order, so threading (reply token, In-Reply-To and References, subject
  token) sees exactly what a one-by-one import would see.
- Writing: runs of plain emails go to :func:`hub.services.ingest_batch.ingest_many` (planned in
  memory from a few queries, one multi-row INSERT per table and one commit per run, all or
  nothing); an email with more to do (other people on To/Cc, a skipped attachment, a bounce
  report, a reply token, a merge) is ingested on its own in its place. 356 emails/s instead of
  102 parsing here, about 400 with two parse workers (2,000 generated emails, 2-core machine).
- Memory stays flat: at most ``2 * workers + 1`` tasks of at most ``CHUNK_BYTES`` are in flight
  and a batch holds at most ``BATCH_SIZE`` messages or ``BATCH_BYTES``.
- The duplicate check (idempotency by Message-ID) is one query per batch, and the email
  endpoints come from the configuration cache instead of two queries per message.
- The realtime pushes (one per team and kind of event for a run) go through the process's one
  push loop (see :mod:`hub.services.realtime`), not an event loop of its own.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice

from django.conf import settings

from channels_email import services
from channels_email.mailsource import MailItem
from channels_email.prepare import PreparedEmail, prepare_many, prepare_raw_email

CHUNK_SIZE = 16  # messages per worker task
CHUNK_BYTES = 1 << 20
BATCH_SIZE = 64  # messages per duplicate-check query
BATCH_BYTES = 4 << 20

logger = logging.getLogger(__name__)


@dataclass
class ImportResult:
    item: MailItem
    outcome: services.EmailOutcome | None  # None: the ingest itself failed with ``error``
    error: Exception | None = None


class MailImporter:
    def __init__(self, *, mailbox: str = "", workers: int = 0, source: str = "import_mail"):
        self.mailbox = mailbox
        self.workers = max(0, workers)
        self.source = source
        self.max_chars = settings.HUB["MAX_MESSAGE_CHARS"]

    def run(self, items: Iterable[MailItem], *, limit: int = 0) -> Iterator[ImportResult]:
        """Ingest ``items`` (the first ``limit`` of them, if given) in order, yielding the
        outcomes batch by batch as they are committed."""
        if limit:
            items = islice(items, limit)
        for batch in _batches(self._prepared(items)):
            try:
                mailboxes = services.load_mailboxes(cached=True)
                stored = services.stored_ids_for(
                    [(p.parsed, item.raw) for item, p in batch if p.parsed is not None],
                    mailbox=self.mailbox,
                    mailboxes=mailboxes,
                )
            except Exception:  # e.g. a NUL in a Message-ID: check each message on its own
                logger.warning("batch duplicate check failed", exc_info=True)
                mailboxes, stored = None, None
            outcomes = services.ingest_prepared_many(
                [(prepared, item.raw) for item, prepared in batch],
                source=self.source,
                mailbox=self.mailbox,
                historical=True,
                mailboxes=mailboxes,
                stored_ids=stored,
            )
            for (item, _), outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Exception):  # the caller reports it; the import goes on
                    yield ImportResult(item, None, outcome)
                else:
                    yield ImportResult(item, outcome)

    def _prepared(self, items: Iterable[MailItem]) -> Iterator[tuple[MailItem, PreparedEmail]]:
        if not self.workers:
            for item in items:
                yield item, prepare_raw_email(item.raw, self.max_chars)
            return
        context = multiprocessing.get_context("forkserver")
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        pending: deque = deque()
        broken = False

        def drain(keep: int) -> Iterator[tuple[MailItem, PreparedEmail]]:
            nonlocal broken
            while len(pending) > keep:
                chunk, future = pending.popleft()
                results = None if broken else self._results(chunk, future)
                if results is None:  # a worker died (killed, out of memory): parse here
                    broken = True
                    results = self._prepare_here(chunk)
                yield from results

        try:
            for chunk in _chunks(items):
                if broken:
                    yield from self._prepare_here(chunk)
                    continue
                try:
                    future = pool.submit(prepare_many, [item.raw for item in chunk], self.max_chars)
                except Exception:
                    future = None
                pending.append((chunk, future))
                yield from drain(2 * self.workers)
            yield from drain(0)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _results(chunk: list[MailItem], future) -> list[tuple[MailItem, PreparedEmail]] | None:
        if future is None:
            return None
        try:
            return list(zip(chunk, future.result(), strict=True))
        except Exception:
            return None

    def _prepare_here(self, chunk: list[MailItem]) -> list[tuple[MailItem, PreparedEmail]]:
        return [(item, prepare_raw_email(item.raw, self.max_chars)) for item in chunk]


def _chunks(items: Iterable[MailItem]) -> Iterator[list[MailItem]]:
    chunk: list[MailItem] = []
    size = 0
    for item in items:
        chunk.append(item)
        size += len(item.raw)
        if len(chunk) >= CHUNK_SIZE or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _batches(
    prepared: Iterable[tuple[MailItem, PreparedEmail]],
) -> Iterator[list[tuple[MailItem, PreparedEmail]]]:
    batch: list[tuple[MailItem, PreparedEmail]] = []
    size = 0
    for pair in prepared:
        batch.append(pair)
        size += len(pair[0].raw)
        if len(batch) >= BATCH_SIZE or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
