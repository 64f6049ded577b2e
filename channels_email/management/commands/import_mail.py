"""``python manage.py import_mail PATH``: an mbox, a Maildir, a folder of .eml files or one .eml.

Streams (constant memory on a multi-GB mbox), shows progress with rate and ETA on stderr, prints a
summary, and can be run again safely: a message already stored (same Message-ID on the same
mailbox) is skipped, and each message is ingested in its own transaction, so one bad message is
quarantined with its reason and never stops the import.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from channels_email import services
from channels_email.mailsource import MailSource


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

    def handle(self, *args, **options):
        try:
            source = MailSource(options["path"])
        except (FileNotFoundError, OSError) as exc:
            raise CommandError(str(exc)) from exc
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
        done = 0
        position = 0
        with progress:
            for item in source:
                try:
                    outcome = services.ingest_raw_email(
                        item.raw,
                        source="import_mail",
                        mailbox=options["mailbox"],
                        historical=True,
                    )
                    status = outcome.status
                    if status == "quarantined" and outcome.quarantine.attempts > 1:
                        already_quarantined += 1
                except Exception as exc:  # last resort: the import goes on
                    self.stderr.write(f"{item.label}: {type(exc).__name__}: {exc}")
                    status = "quarantined"
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
                    break
        elapsed = max(time.monotonic() - started, 1e-9)
        note = f" ({already_quarantined} already there)" if already_quarantined else ""
        self.stdout.write(
            f"{done} messages in {elapsed:.1f} s ({done / elapsed:.1f}/s): "
            f"imported {counts['ingested']}, duplicates skipped {counts['duplicate']}, "
            f"quarantined {counts['quarantined']}{note}"
        )
