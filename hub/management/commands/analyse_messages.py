"""Analyse stored inbound messages again (after the analyser changed), and then the language of
the contacts concerned: ``manage.py analyse_messages --since 2026-01-01 [--version-below V]``."""

from __future__ import annotations

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from hub.services.understanding import VERSION, reanalyse


def _moment(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since: not a date: {value!r} (use 2026-01-31 or ISO 8601)")
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = (
        "Recompute the stored analysis (language, questions, temperature) of inbound messages "
        "since a date, in batches; idempotent. Then re-learn the contacts' languages."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="Messages from this date (or time).")
        parser.add_argument(
            "--version-below",
            default="",
            help=f"Only messages analysed by an older analyser than this (current: {VERSION}).",
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, since, version_below, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be positive.")
        result = reanalyse(_moment(since), version_below=version_below, batch_size=batch_size)
        self.stdout.write(
            f"Analysed {result.read} messages with analyser {VERSION}: {result.changed} changed; "
            f"{result.contacts} contacts' language changed."
        )
