"""``python manage.py import_mail PATH``: an mbox, a Maildir, a folder of .eml files or one .eml.

Streams (constant memory on a multi-GB mbox), shows progress with rate and ETA on stderr, prints a
summary, and can be run again safely: a message already stored (same Message-ID on the same
mailbox) is skipped, and each message is ingested in its own transaction, so one bad message is
quarantined with its reason and never stops the import. Parsing runs in ``--workers`` processes
(see :mod:`channels_email.importer`); the writes stay in this process, in the source's order.
"""

from __future__ import annotations

import os
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from channels_email.importer import MailImporter
from channels_email.mailsource import MailSource

# Below this many messages (or mbox bytes) starting worker processes costs more than it saves.
MIN_MESSAGES_FOR_WORKERS = 200
MIN_MBOX_BYTES_FOR_WORKERS = 1 << 20


def default_workers(source: MailSource) -> int:
    small = (
        source.total < MIN_MBOX_BYTES_FOR_WORKERS
        if source.unit == "B"
        else source.total < MIN_MESSAGES_FOR_WORKERS
    )
    return 0 if small else min(2, os.cpu_count() or 1)


class Command(BaseCommand):
    help = "Import emails from an mbox file, a Maildir, a folder of .eml files or one .eml file."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument(
            "--mailbox",
            default="",
            help="Endpoint address to file every message under (default: from the recipients).",
        )
        parser.add_argument("--limit", type=int, default=0, help="Stop after N messages.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Processes that parse messages while this one writes them (0: parse here; "
            "default: 2, or 0 for a small source).",
        )

    def handle(self, *args, **options):
        try:
            source = MailSource(options["path"])
        except (FileNotFoundError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        workers = options["workers"]
        if workers is None:
            workers = default_workers(source)
        self._import(source, workers, options)

    def _import(self, source: MailSource, workers: int, options) -> None:
        counts = {"ingested": 0, "duplicate": 0, "quarantined": 0}
        already_quarantined = 0
        started = time.monotonic()
        progress = tqdm(
            total=source.total,
            unit=source.unit,
            unit_scale=source.unit == "B",
            desc=f"import {source.kind}",
            disable=options["no_progress"],
            dynamic_ncols=True,
            mininterval=0.5,
        )
        importer = MailImporter(mailbox=options["mailbox"], workers=workers)
        done = 0
        position = 0
        with progress:
            results = importer.run(source, limit=options["limit"])
            for result in results:
                item, outcome = result.item, result.outcome
                if outcome is None:  # last resort: the import goes on
                    exc = result.error
                    self.stderr.write(f"{item.label}: {type(exc).__name__}: {exc}")
                    status = "quarantined"
                else:
                    status = outcome.status
                    if status == "quarantined" and outcome.quarantine.attempts > 1:
                        already_quarantined += 1
                counts[status] += 1
                done += 1
                progress.update(item.consumed - position)
                position = item.consumed
                progress.set_postfix(
                    imported=counts["ingested"],
                    dup=counts["duplicate"],
                    quarantined=counts["quarantined"],
                    refresh=False,
                )
                if options["limit"] and done >= options["limit"]:
                    results.close()  # stops the workers
                    break
        elapsed = max(time.monotonic() - started, 1e-9)
        note = f" ({already_quarantined} already there)" if already_quarantined else ""
        self.stdout.write(
            f"{done} messages in {elapsed:.1f} s ({done / elapsed:.1f}/s): "
            f"imported {counts['ingested']}, duplicates skipped {counts['duplicate']}, "
            f"quarantined {counts['quarantined']}{note}"
        )
