"""Import and export of answers: JSON, CSV and a folder of Markdown files with front matter.

- JSON: a list of ``{"key", "title", "body", "short" ({"it": ..., "en": ...} maps), "kinds",
  "url", "topics"}`` with optional ``status``, ``is_canned``, ``actions``,
  ``channel_overrides`` ({lang: {channel: text}}).
- CSV: one row per answer and language: ``key,language,title,body,short,kinds,url,topics``
  (kinds and topics separated by ``|``; optional ``status`` column).
- Markdown: one file per answer and language, ``<key>.<language>.md``: front matter between
  ``---`` lines (``title``, ``short``, ``kinds``, ``topics``, ``url``, ``status``), the body below.

Every format is idempotent by key. A bad record is reported with its line (or file) and field
and the others are imported.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError

from knowledge import services
from knowledge.models import Answer
from knowledge.services import AnswerData

CSV_COLUMNS = ("key", "language", "title", "body", "short", "kinds", "url", "topics", "status")
FORMATS = ("json", "csv", "md")


@dataclass
class RecordError:
    where: str  # "line 4", "item 3", "shipping.it.md"
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RecordError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.__dict__ for e in self.errors],
        }


class Bad(Exception):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


def _str_list(value, name: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [v.strip() for v in value.split("|")]
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise Bad(name, "a list of strings is expected")
    return [v.strip() for v in value if v.strip()]


def _lang_map(value, name: str, required: bool) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or any(
        not isinstance(k, str) or not isinstance(v, str) for k, v in value.items()
    ):
        raise Bad(name, 'an object {"it": "...", "en": "..."} is expected')
    return value


def _from_object(obj) -> AnswerData:
    if not isinstance(obj, dict):
        raise Bad("(record)", "an object is expected")
    key = obj.get("key")
    if not isinstance(key, str) or not key:
        raise Bad("key", "required")
    titles = _lang_map(obj.get("title"), "title", True)
    bodies = _lang_map(obj.get("body"), "body", True)
    shorts = _lang_map(obj.get("short"), "short", False)
    overrides = obj.get("channel_overrides") or {}
    if not isinstance(overrides, dict):
        raise Bad("channel_overrides", "an object {lang: {channel: text}} is expected")
    languages = list(dict.fromkeys([*titles, *bodies]))
    if not languages:
        raise Bad("title", "at least one language is required")
    texts = {}
    for lang in languages:
        if not titles.get(lang):
            raise Bad(f"title.{lang}", "required")
        if not bodies.get(lang):
            raise Bad(f"body.{lang}", "required")
        texts[lang] = {
            "title": titles[lang],
            "body": bodies[lang],
            "short": shorts.get(lang, ""),
            "channel_overrides": overrides.get(lang) or {},
        }
    actions = obj.get("actions") or {}
    if not isinstance(actions, dict):
        raise Bad("actions", "an object is expected")
    url = obj.get("url") or ""
    if not isinstance(url, str):
        raise Bad("url", "a string is expected")
    status = obj.get("status") or Answer.Status.PUBLISHED
    return AnswerData(
        key=key,
        texts=texts,
        status=status,
        kinds=_str_list(obj.get("kinds"), "kinds"),
        topics=_str_list(obj.get("topics"), "topics"),
        url=url,
        is_canned=bool(obj.get("is_canned", False)),
        actions=actions,
    )


def _to_object(data: AnswerData) -> dict:
    out = {
        "key": data.key,
        "title": {lang: t["title"] for lang, t in data.texts.items()},
        "body": {lang: t["body"] for lang, t in data.texts.items()},
        "short": {lang: t["short"] for lang, t in data.texts.items()},
        "kinds": data.kinds,
        "url": data.url,
        "topics": data.topics,
        "status": data.status,
    }
    if data.is_canned:
        out["is_canned"] = True
    if data.actions:
        out["actions"] = data.actions
    overrides = {
        lang: t["channel_overrides"] for lang, t in data.texts.items() if t.get("channel_overrides")
    }
    if overrides:
        out["channel_overrides"] = overrides
    return out


# --- reading ----------------------------------------------------------------------------------


def read_json(content: str) -> list[tuple[str, dict | Bad]]:
    try:
        items = json.loads(content)
    except json.JSONDecodeError as exc:
        return [(f"line {exc.lineno}", Bad("(file)", f"not JSON: {exc.msg}"))]
    if not isinstance(items, list):
        return [("line 1", Bad("(file)", "a list of answers is expected"))]
    return [(f"item {i}", item) for i, item in enumerate(items, 1)]


def read_csv(content: str) -> list[tuple[str, dict | Bad]]:
    reader = csv.DictReader(io.StringIO(content))
    missing = {"key", "language", "title", "body"} - set(reader.fieldnames or [])
    if missing:
        return [("line 1", Bad(", ".join(sorted(missing)), "missing column"))]
    grouped: dict[str, tuple[str, dict]] = {}
    out: list[tuple[str, dict | Bad]] = []
    for row in reader:
        where = f"line {reader.line_num}"
        key, lang = (row.get("key") or "").strip(), (row.get("language") or "").strip()
        if not key:
            out.append((where, Bad("key", "required")))
            continue
        if not lang:
            out.append((where, Bad("language", "required")))
            continue
        _first, obj = grouped.setdefault(
            key,
            (
                where,
                {
                    "key": key,
                    "title": {},
                    "body": {},
                    "short": {},
                    "kinds": row.get("kinds"),
                    "url": row.get("url") or "",
                    "topics": row.get("topics"),
                },
            ),
        )
        if row.get("status"):
            obj["status"] = row["status"]
        obj["title"][lang] = row.get("title") or ""
        obj["body"][lang] = row.get("body") or ""
        obj["short"][lang] = row.get("short") or ""
    out.extend(grouped.values())
    return out


def _front_matter(text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        raise Bad("front matter", "the file starts with a --- block")
    head, sep, body = text[3:].partition("\n---")
    if not sep:
        raise Bad("front matter", "no closing ---")
    try:
        meta = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        raise Bad("front matter", f"not YAML: {exc.__class__.__name__}") from exc
    if not isinstance(meta, dict):
        raise Bad("front matter", "key: value lines are expected")
    return meta, body.partition("\n")[2].strip("\n")


def read_markdown(folder: Path) -> list[tuple[str, dict | Bad]]:
    grouped: dict[str, tuple[str, dict]] = {}
    out: list[tuple[str, dict | Bad]] = []
    for path in sorted(folder.glob("*.md")):
        stem = path.name[: -len(".md")]
        key, _, lang = stem.rpartition(".")
        if not key or not lang:
            out.append((path.name, Bad("(file name)", "name it <key>.<language>.md")))
            continue
        try:
            meta, body = _front_matter(path.read_text(encoding="utf-8"))
        except (Bad, UnicodeDecodeError) as exc:
            out.append((path.name, exc if isinstance(exc, Bad) else Bad("(file)", "not UTF-8")))
            continue
        _first, obj = grouped.setdefault(
            key, (path.name, {"key": key, "title": {}, "body": {}, "short": {}})
        )
        for name in ("kinds", "topics", "url", "status", "is_canned", "actions"):
            if name in meta:
                obj[name] = meta[name]
        obj["title"][lang] = str(meta.get("title") or "")
        obj["short"][lang] = str(meta.get("short") or "")
        obj["body"][lang] = body
        if meta.get("channel_overrides"):
            obj.setdefault("channel_overrides", {})[lang] = meta["channel_overrides"]
    out.extend(grouped.values())
    return out


def detect_format(path: Path) -> str:
    if path.is_dir():
        return "md"
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "json"


def import_records(records: list[tuple[str, dict | Bad]], *, by=None) -> ImportReport:
    report = ImportReport()
    for where, item in records:
        if isinstance(item, Bad):
            report.errors.append(RecordError(where, item.field, item.message))
            continue
        try:
            data = _from_object(item)
            _, outcome = services.save_answer(data, by=by)
        except Bad as exc:
            report.errors.append(RecordError(where, exc.field, exc.message))
            continue
        except ValidationError as exc:
            for name, messages in getattr(exc, "message_dict", {"(record)": exc.messages}).items():
                report.errors.append(RecordError(where, name, " ".join(messages)))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def import_content(content: str, fmt: str, *, by=None) -> ImportReport:
    reader = read_csv if fmt == "csv" else read_json
    return import_records(reader(content), by=by)


def import_path(path: Path, fmt: str = "", *, by=None) -> ImportReport:
    fmt = fmt or detect_format(path)
    if fmt == "md":
        return import_records(read_markdown(path), by=by)
    return import_content(path.read_text(encoding="utf-8-sig"), fmt, by=by)


# --- writing ----------------------------------------------------------------------------------


def _all() -> list[AnswerData]:
    return [services.answer_data(a) for a in Answer.objects.prefetch_related("texts")]


def export_json() -> str:
    return json.dumps([_to_object(d) for d in _all()], ensure_ascii=False, indent=2) + "\n"


def export_csv() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in _all():
        for lang, t in d.texts.items():
            writer.writerow(
                [
                    d.key,
                    lang,
                    t["title"],
                    t["body"],
                    t["short"],
                    "|".join(d.kinds),
                    d.url,
                    "|".join(d.topics),
                    d.status,
                ]
            )
    return buffer.getvalue()


def export_markdown(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for d in _all():
        for lang, t in d.texts.items():
            meta = {
                "title": t["title"],
                "short": t["short"],
                "kinds": d.kinds,
                "topics": d.topics,
                "url": d.url,
                "status": d.status,
            }
            if d.is_canned:
                meta["is_canned"] = True
            if d.actions:
                meta["actions"] = d.actions
            if t.get("channel_overrides"):
                meta["channel_overrides"] = t["channel_overrides"]
            head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
            (folder / f"{d.key}.{lang}.md").write_text(
                f"---\n{head}---\n{t['body']}\n", encoding="utf-8"
            )
            count += 1
    return count
