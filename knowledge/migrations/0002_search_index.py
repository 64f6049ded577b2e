"""The search index of the database in use: a generated tsvector + GIN index (and pg_trgm) on
PostgreSQL, an FTS5 table on SQLite. Other backends get none (the finder then re-ranks every
published text)."""

from django.db import migrations

PG_VECTOR = """
ALTER TABLE knowledge_answertext ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
  CASE language
    WHEN 'it' THEN setweight(to_tsvector('italian', coalesce(title, '')), 'A')
      || setweight(to_tsvector('italian', coalesce(short, '')), 'B')
      || setweight(to_tsvector('italian', coalesce(body, '')), 'C')
    WHEN 'en' THEN setweight(to_tsvector('english', coalesce(title, '')), 'A')
      || setweight(to_tsvector('english', coalesce(short, '')), 'B')
      || setweight(to_tsvector('english', coalesce(body, '')), 'C')
    ELSE setweight(to_tsvector('simple', coalesce(title, '')), 'A')
      || setweight(to_tsvector('simple', coalesce(body, '')), 'C')
  END || setweight(to_tsvector('simple', coalesce(search_text, '')), 'B')
) STORED
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(PG_VECTOR)
        schema_editor.execute(
            "CREATE INDEX knowledge_answertext_search ON knowledge_answertext"
            " USING gin (search_vector)"
        )
        schema_editor.execute(
            "CREATE INDEX knowledge_answertext_trgm ON knowledge_answertext"
            " USING gin (search_text gin_trgm_ops)"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            "CREATE VIRTUAL TABLE knowledge_fts USING fts5(search_text, tokenize='unicode61')"
        )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS knowledge_answertext_trgm")
        schema_editor.execute("DROP INDEX IF EXISTS knowledge_answertext_search")
        schema_editor.execute("ALTER TABLE knowledge_answertext DROP COLUMN search_vector")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS knowledge_fts")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
