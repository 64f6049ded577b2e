"""Messages out of mailbox files, one at a time: an mbox of any size is read as a stream (one
message in memory at a time, whatever the file's size), a Maildir or a folder of ``.eml`` files
file by file.

``mailbox.mbox`` from the stdlib would also read messages lazily, but it first scans the whole file
to build a table of every message's offsets and keeps it; the splitter below needs neither.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_FROM_LINE = re.compile(rb"^From \S*")
_ESCAPED_FROM = re.compile(rb"^>+From ")


@dataclass(frozen=True)
class MailItem:
    raw: bytes
    label: str  # where it came from, for error messages
    consumed: int  # bytes (mbox) or files (folders) read so far, for the progress bar


class MailSource:
    """``kind`` is ``mbox``, ``maildir``, ``folder`` or ``eml``; ``total`` is in bytes for an
    mbox and in files otherwise."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path} does not exist")
        if self.path.is_dir():
            maildir = all((self.path / sub).is_dir() for sub in ("cur", "new"))
            self.kind = "maildir" if maildir else "folder"
            self.files = self._maildir_files() if maildir else self._eml_files()
            self.total = len(self.files)
        else:
            with self.path.open("rb") as fh:
                head = fh.read(5)
            self.kind = "mbox" if head == b"From " else "eml"
            self.files = [""]  # the path itself
            self.total = self.path.stat().st_size if self.kind == "mbox" else 1

    @property
    def unit(self) -> str:
        return "B" if self.kind == "mbox" else "msg"

    # File names are kept as strings relative to the folder: a Path object costs ~370 bytes, so
    # 50,000 of them held ~30 MB for the whole import; the strings hold ~4 MB.

    def _maildir_files(self) -> list[str]:
        files: list[str] = []
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as entries:
                files += sorted(f"{sub}/{e.name}" for e in entries if e.is_file())
        return files

    def _eml_files(self) -> list[str]:
        """Every ``*.eml`` file under the folder, in the order of their paths' components."""
        files = list(_walk_eml(str(self.path), ""))
        files.sort(key=lambda name: name.replace("/", "\0"))  # "a/b" before "a.b/c", like Path
        return files

    def __iter__(self) -> Iterator[MailItem]:
        if self.kind == "mbox":
            yield from iter_mbox(self.path)
            return
        for index, name in enumerate(self.files, start=1):
            path = self.path / name if name else self.path
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raw = b""
                label = f"{path} (unreadable: {exc})"
            else:
                label = str(path)
            yield MailItem(raw=raw, label=label, consumed=index)


def _walk_eml(root: str, prefix: str) -> Iterator[str]:
    with os.scandir(os.path.join(root, prefix) if prefix else root) as entries:
        for entry in entries:
            name = f"{prefix}/{entry.name}" if prefix else entry.name
            if entry.is_dir():
                yield from _walk_eml(root, name)
            elif entry.name.endswith(".eml") and entry.is_file():
                yield name


def iter_mbox(path: Path) -> Iterator[MailItem]:
    """Split an mbox (mboxo or mboxrd) on its "From " separator lines, streaming.

    A separator is a line starting with ``From `` at the start of the file or after an empty
    line; ``>From`` lines in bodies are unescaped (mboxrd).
    """
    current: list[bytes] = []
    consumed = 0
    index = 0
    previous_blank = True
    with path.open("rb") as fh:
        for line in fh:
            consumed += len(line)
            if previous_blank and _FROM_LINE.match(line):
                if current:
                    index += 1
                    yield MailItem(_finish(current), f"{path}#{index}", consumed - len(line))
                current = []
                previous_blank = False
                continue
            if _ESCAPED_FROM.match(line):
                line = line[1:]
            current.append(line)
            previous_blank = line in (b"\n", b"\r\n")
    if current:
        index += 1
        yield MailItem(_finish(current), f"{path}#{index}", consumed)


def _finish(lines: list[bytes]) -> bytes:
    # The blank line before the next separator belongs to the mbox format, not to the message.
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]
    return b"".join(lines)
