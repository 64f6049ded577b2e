"""`make test` on a fresh clone with nothing beside it: the tests read only files of the
repository, and `.ci/run` runs the suite in such a clone, so a test that reaches outside fails
in CI rather than on a new user's machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import email_corpus, sms_fixtures

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def test_the_corpora_are_inside_the_repository():
    for corpus in (email_corpus.CORPORA, sms_fixtures.CORPORA):
        assert corpus.is_relative_to(ROOT) and corpus.is_dir(), corpus
    assert email_corpus.raw_email_files() and email_corpus.anymail_captures()


# Optional material beside the repository, used only when present and skipped with a reason
# otherwise (issue #17 asks the threading score to use ../shared's mail generator that way).
OPTIONAL_OUTSIDE = {"bench/threading_case.py"}


def test_no_test_or_bench_module_reads_beside_the_repository():
    outside = re.compile(r"parents\[[2-9]\]|\.\./shared|shared/corpora|HUB_CORPORA_DIR")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(__file__)
        and path.relative_to(ROOT).as_posix() not in OPTIONAL_OUTSIDE
        and outside.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_copied_file_has_its_origin_named():
    """tests/data/SOURCES.md has a section per folder and names every file's upstream."""
    sources = (DATA / "SOURCES.md").read_text()
    sections = set(re.findall(r"^## ([^/\s]+)/", sources, flags=re.M))
    for path in DATA.rglob("*"):
        if path.is_file() and path.name != "SOURCES.md":
            assert path.relative_to(DATA).parts[0] in sections, path
    for licence in ("PSF-2.0", "Apache-2.0", "MIT", "BSD-3-Clause"):
        assert licence in sources


@pytest.mark.skipif(
    not (ROOT / ".git").exists() or shutil.which("git") is None,
    reason="needs the repository's git history (.ci/run clones HEAD)",
)
def test_ci_runs_the_suite_in_a_fresh_clone_and_keeps_its_exit_code(tmp_path):
    """.ci/run with stand-ins for make and the service probes: make is called in a clone of
    HEAD that has no ../shared/, its exit code is the script's, and the clone is removed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "make-call.txt"
    (bin_dir / "make").write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {record}\n'
        'dir="$2"\n'
        f'[ -e "$dir/../shared" ] && echo shared-beside >> {record}\n'
        f'git -C "$dir" rev-parse HEAD >> {record}\n'
        "exit 3\n"
    )
    for name in ("pg_isready", "redis-cli"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
    for path in bin_dir.iterdir():
        path.chmod(0o755)
    done = subprocess.run(
        [str(ROOT / ".ci" / "run")],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    args, head = record.read_text().splitlines()
    assert args.startswith("-C ") and args.endswith(" test")
    clone = Path(args.split()[1])
    assert clone.name == "hub" and not clone.is_relative_to(ROOT)
    expected = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert head == expected
    assert not clone.parent.exists()  # the temporary directory was cleaned up
