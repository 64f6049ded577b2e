from pathlib import Path

from django.core.management.base import BaseCommand

from knowledge import importing


class Command(BaseCommand):
    help = "Export every answer to JSON, CSV or a folder of Markdown files."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a .json or .csv file, or a folder (Markdown)")
        parser.add_argument("--format", choices=importing.FORMATS, default="")

    def handle(self, *args, **options):
        path = Path(options["path"])
        fmt = options["format"] or (
            "md" if path.is_dir() or not path.suffix else importing.detect_format(path)
        )
        if fmt == "md":
            count = importing.export_markdown(path)
        else:
            content = importing.export_csv() if fmt == "csv" else importing.export_json()
            path.write_text(content, encoding="utf-8")
            count = content.count("\n")
        self.stdout.write(f"exported to {path} ({fmt}, {count} files/lines)")
