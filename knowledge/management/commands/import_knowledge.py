from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from knowledge import importing


class Command(BaseCommand):
    help = "Import answers (idempotent by key) from JSON, CSV or a folder of Markdown files."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a .json or .csv file, or a folder of <key>.<lang>.md")
        parser.add_argument("--format", choices=importing.FORMATS, default="")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        report = importing.import_path(path, options["format"])
        for error in report.errors:
            self.stderr.write(f"error: {error}")
        self.stdout.write(
            f"created {report.created}, updated {report.updated}, "
            f"unchanged {report.unchanged}, errors {len(report.errors)}"
        )
