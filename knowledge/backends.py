"""Candidate retrieval in the database: the answers sharing words with a message, best first.

- PostgreSQL: ``knowledge_answertext.search_vector``, a stored generated ``tsvector`` (title and
  short weighted above the body) with the 'italian' or 'english' configuration of the text's
  language plus our normalised terms, under a GIN index; queried with an OR of the message's
  terms and ranked by ``ts_rank``. Typos: ``pg_trgm`` similarity of the message's words to the
  vocabulary (migration 0002).
- SQLite (the embedded default): an FTS5 table ``knowledge_fts`` over the same normalised terms
  (Snowball stems computed in Python, since FTS5 only stems English), ranked by ``bm25``; kept in
  sync by ``knowledge.services`` whenever an answer is saved or deleted.

Both return AnswerText ids; the re-ranking in ``knowledge.finder`` is the same on both.
"""

from __future__ import annotations

import json
import re

from django.db import connection

CONCEPT_PREFIX = "xc"  # "~refund" is stored as "xcrefund": one token for every tokenizer
_SAFE = re.compile(r"^[a-z0-9]+$")


def db_token(term: str) -> str:
    return CONCEPT_PREFIX + term[1:] if term.startswith("~") else term


def search_text(terms: list[str]) -> str:
    return " ".join(db_token(t) for t in terms)


def _query_tokens(terms: list[str]) -> list[str]:
    return sorted({db_token(t) for t in terms if _SAFE.match(db_token(t))})


def candidates(terms: list[str], limit: int) -> list[tuple]:
    """(answer id, language, terms, answer kinds) of the best matching published texts."""
    tokens = _query_tokens(terms)
    if not tokens:
        return []
    if connection.vendor == "postgresql":
        query = " | ".join(tokens)
        sql = (
            "SELECT t.answer_id, t.language, t.terms, a.kinds FROM knowledge_answertext t"
            " JOIN knowledge_answer a ON a.id = t.answer_id"
            " WHERE a.status = 'published' AND t.search_vector @@ to_tsquery('simple', %s)"
            " ORDER BY ts_rank(t.search_vector, to_tsquery('simple', %s)) DESC, t.id LIMIT %s"
        )
        params = [query, query, limit]
    elif connection.vendor == "sqlite":
        query = " OR ".join(f'"{t}"' for t in tokens)
        sql = (
            "SELECT t.answer_id, t.language, t.terms, a.kinds"
            " FROM knowledge_fts f JOIN knowledge_answertext t ON t.id = f.rowid"
            " JOIN knowledge_answer a ON a.id = t.answer_id"
            " WHERE knowledge_fts MATCH %s AND a.status = 'published'"
            " ORDER BY bm25(knowledge_fts), t.id LIMIT %s"
        )
        params = [query, limit]
    else:  # another backend: every published text, the re-ranking sorts them out
        from knowledge.models import AnswerText

        return list(
            AnswerText.objects.filter(answer__status="published").values_list(
                "answer_id", "language", "terms", "answer__kinds"
            )
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [(a, lang, _json(terms), _json(kinds)) for a, lang, terms, kinds in rows]


def _json(value):
    """jsonb arrives decoded from psycopg; SQLite gives the JSON text."""
    return json.loads(value) if isinstance(value, str) else value


def sync(rows: list[tuple[int, str]]) -> None:
    """Write (AnswerText id, search_text) rows to SQLite's FTS5 table (PostgreSQL's vector is a
    generated column: nothing to do)."""
    if connection.vendor != "sqlite" or not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany("DELETE FROM knowledge_fts WHERE rowid = %s", [(r[0],) for r in rows])
        cursor.executemany("INSERT INTO knowledge_fts(rowid, search_text) VALUES (%s, %s)", rows)


def remove(text_ids: list[int]) -> None:
    if connection.vendor != "sqlite" or not text_ids:
        return
    with connection.cursor() as cursor:
        cursor.executemany("DELETE FROM knowledge_fts WHERE rowid = %s", [(i,) for i in text_ids])


def rebuild() -> None:
    """The FTS5 table from the texts (after a restore or a bulk load outside the services)."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM knowledge_fts")
        cursor.execute(
            "INSERT INTO knowledge_fts(rowid, search_text) SELECT id, search_text"
            " FROM knowledge_answertext"
        )
