"""config.prepared: a queryset compiled once gives what the ORM gives, in one query."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from config.prepared import PreparedQuery, PreparedQueryError
from crm.models import Company, Contact, Identity
from tests.markers import postgresql_only

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS_OF_IDENTITY = ["id", "contact_id", "kind", "value", "display_name", "created_at"]


def _identity_query():
    return PreparedQuery(
        lambda kind, value: Identity.objects.select_related("contact", "contact__company").filter(
            kind=kind, value=value
        ),
        kind=str,
        value=str,
    )


@pytest.fixture
def people():
    company = Company.objects.create(name="Rossi & Figli")
    rows = []
    for number in range(3):
        contact = Contact.objects.create(
            name=f"Persona {number} — àèìòù",
            company=company if number else None,
            attributes={"lingua": "it", "n": number, "nested": {"ok": True}},
        )
        rows.append(
            Identity.objects.create(
                contact=contact, kind="email", value=f"p{number}@example.it", display_name="P"
            )
        )
    return rows


def test_first_gives_the_orm_row_and_its_relations_in_one_query(people):
    query = _identity_query()
    for expected in people:
        orm = Identity.objects.select_related("contact", "contact__company").get(pk=expected.pk)
        with CaptureQueriesContext(connection) as queries:
            found = query.first(kind="email", value=expected.value)
            # The relations come with it: reading them costs no query.
            company_name = found.contact.company.name if found.contact.company else None
            attributes = found.contact.attributes
        assert len(queries) == 1
        for field in FIELDS_OF_IDENTITY:
            assert getattr(found, field) == getattr(orm, field), field
        assert found.contact.name == orm.contact.name
        assert attributes == orm.contact.attributes  # JSON decoded by the field's converter
        assert isinstance(attributes, dict)
        assert company_name == (orm.contact.company.name if orm.contact.company else None)
        assert found.contact.updated_at == orm.contact.updated_at
        assert found._state.adding is False and found._state.db == "default"


def test_values_are_parameters_not_sql(people):
    query = _identity_query()
    assert query.first(kind="email", value="nobody@example.it") is None
    assert query.first(kind="email", value="p1@example.it' OR '1'='1") is None
    assert query.first(kind="email'--", value="p1@example.it") is None
    assert query.first(kind="email", value="p1@example.it").value == "p1@example.it"


def test_list_keeps_the_ordering_and_int_parameters(people):
    by_company = PreparedQuery(
        lambda company_id: Contact.objects.filter(company_id=company_id).order_by("-name"),
        company_id=int,
    )
    company = people[1].contact.company
    expected = list(Contact.objects.filter(company=company).order_by("-name"))
    assert by_company.list(company_id=company.pk) == expected
    assert [c.name for c in by_company.list(company_id=company.pk)] == [c.name for c in expected]
    assert by_company.list(company_id=company.pk + 1000) == []


def test_first_is_limited_to_one_row(people):
    newest = PreparedQuery(
        lambda kind: Identity.objects.filter(kind=kind).order_by("-id"), kind=str
    )
    with CaptureQueriesContext(connection) as queries:
        assert newest.first(kind="email") == people[-1]
    assert "LIMIT 1" in queries[0]["sql"].upper()


def test_locking_query_needs_a_transaction_and_locks_on_postgresql(people):
    locked = PreparedQuery(
        lambda kind, value: (
            Identity.objects.select_related("contact")
            .filter(kind=kind, value=value)
            .select_for_update(of=("contact",))
        ),
        kind=str,
        value=str,
    )
    if connection.features.has_select_for_update:
        # Compiling outside a transaction works (nothing runs); running it there is refused, as
        # the ORM refuses it.
        with pytest.raises(TransactionManagementError):
            locked.first(kind="email", value="p0@example.it")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert locked.first(kind="email", value="p0@example.it") == people[0]
    sql = queries[0]["sql"].upper()
    if connection.vendor == "postgresql":
        assert "FOR UPDATE OF" in sql
    else:
        assert "FOR UPDATE" not in sql  # SQLite has no row locks: the ORM drops it too


@postgresql_only
def test_the_lock_is_held_until_commit(people):
    locked = PreparedQuery(
        lambda contact_id: Contact.objects.filter(pk=contact_id).select_for_update(nowait=True),
        contact_id=int,
    )
    contact_id = people[0].contact_id
    outcome: list[str] = []

    def other_transaction():
        from django.db import DatabaseError, connections

        try:
            with transaction.atomic():
                locked.first(contact_id=contact_id)
            outcome.append("got the lock")
        except DatabaseError:
            outcome.append("locked")
        finally:
            connections.close_all()

    with transaction.atomic():
        assert locked.first(contact_id=contact_id).pk == contact_id
        thread = threading.Thread(target=other_transaction)
        thread.start()
        thread.join()
    assert outcome == ["locked"]


def test_a_parameter_the_orm_rewrites_cannot_be_prepared(people):
    # __icontains wraps the value in %...%: the given value never reaches the SQL as such.
    query = PreparedQuery(lambda name: Contact.objects.filter(name__icontains=name), name=str)
    with pytest.raises(PreparedQueryError, match="derived"):
        query.list(name="Persona")


def test_parameters_are_checked(people):
    query = _identity_query()
    with pytest.raises(TypeError, match="kind, value"):
        query.first(kind="email")
    with pytest.raises(TypeError):
        query.first(kind="email", value="p0@example.it", extra=1)
    with pytest.raises(PreparedQueryError, match="float"):
        PreparedQuery(lambda score: Contact.objects.filter(pk=score), score=float).list(score=1.0)


def test_list_parameters_compile_once_per_length_and_values_list_gives_values(people):
    by_values = PreparedQuery(
        lambda values, kind: (
            Identity.objects.filter(value__in=values, kind=kind)
            .order_by("value")
            .values_list("value", "contact_id")
        ),
        values=list[str],
        kind=str,
    )
    ids = PreparedQuery(
        lambda values: (
            Identity.objects.filter(value__in=values)
            .order_by("-id")
            .values_list("contact_id", flat=True)
        ),
        values=list[str],
    )
    one, two = people[0], people[2]
    assert by_values.list(values=[two.value], kind="email") == [(two.value, two.contact_id)]
    assert by_values.list(values=[two.value, one.value, "x@y.z"], kind="email") == [
        (one.value, one.contact_id),
        (two.value, two.contact_id),
    ]
    assert by_values.list(values=[one.value], kind="phone") == []
    assert by_values.list(values=[], kind="email") == []  # no query, as the ORM
    assert ids.first(values=[one.value, two.value]) == two.contact_id
    assert ids.first(values=["nobody@example.it"]) is None
    # One compiled statement per list length, reused for new values of that length.
    assert sorted(key[2] for key in by_values._compiled) == [(0,), (1,), (3,)]
    with CaptureQueriesContext(connection) as queries:
        assert ids.list(values=[two.value]) == [two.contact_id]
    assert len(queries) == 1


def test_only_model_and_values_list_querysets_can_be_prepared(people):
    query = PreparedQuery(lambda kind: Identity.objects.filter(kind=kind).values("id"), kind=str)
    with pytest.raises(PreparedQueryError, match="values_list"):
        query.list(kind="email")


# --- PreparedSave: INSERT and UPDATE compiled once per set of columns -------------------------


def _insert_and_update_statements(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].split(" ", 1)[0] in {"INSERT", "UPDATE"}]


def test_a_prepared_insert_stores_what_the_orm_would(people):
    company = people[1].contact.company
    attributes = {"lingua": "it", "perché": ["è", 1, None], "nested": {"x": 1.5}}
    ours = Contact.objects.create(name="Zoë — àè", company=company, attributes=attributes)
    assert ours.pk and ours._state.adding is False and ours._state.db == "default"
    stored = Contact.objects.get(pk=ours.pk)
    assert stored.name == "Zoë — àè" and stored.company_id == company.pk
    assert stored.attributes == attributes
    assert stored.created_at == ours.created_at and stored.updated_at == ours.updated_at
    assert Contact.objects.create(name="").company_id is None
    # Ids keep coming from the database, one per row, as Django's insert gives them.
    more = [Contact.objects.create(name=f"n{n}").pk for n in range(3)]
    assert len(set(more)) == 3 and min(more) > ours.pk


def test_inserts_and_updates_run_one_statement_each_compiled_once(people):
    cache = Contact._prepared_cache()
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        contacts = [Contact.objects.create(name=f"C{n}") for n in range(3)]
        for contact in contacts:
            contact.name += " updated"
            contact.save()
    assert len(_insert_and_update_statements(queries)) == 6  # one statement per save
    assert sorted(key[0] for key in cache) == ["insert", "update"]  # each compiled once
    names = Contact.objects.filter(pk__in=[c.pk for c in contacts]).values_list("name", flat=True)
    assert sorted(names) == ["C0 updated", "C1 updated", "C2 updated"]


def test_updates_write_nulls_update_fields_and_expressions_as_django_does(people):
    from django.db.models import F

    contact = people[1].contact
    before = Contact.objects.get(pk=contact.pk).updated_at
    contact.company = None  # NULL goes into the SQL text: a statement of its own shape
    contact.language = "it"
    contact.save(update_fields=["company", "language", "updated_at"])
    stored = Contact.objects.get(pk=contact.pk)
    assert stored.company_id is None and stored.language == "it"
    assert stored.updated_at >= before
    # An expression as a value goes Django's way and still works.
    identity = people[1]
    identity.display_name = F("value")
    identity.save(update_fields=["display_name"])
    assert Identity.objects.get(pk=identity.pk).display_name == identity.value
    # JSON values are prepared per save, never shared through the compiled statement.
    for n in range(3):
        contact.attributes = {"n": n}
        contact.save(update_fields=["attributes"])
        assert Contact.objects.get(pk=contact.pk).attributes == {"n": n}


def test_saving_a_row_deleted_meanwhile_behaves_as_in_django(people):
    from django.db import DatabaseError

    contact = Contact.objects.create(name="soon gone")
    Contact.objects.filter(pk=contact.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        contact.save(update_fields=["name"])
    contact.save()  # no row updated: Django inserts it again, with the same id
    assert Contact.objects.filter(pk=contact.pk, name="soon gone").exists()


def test_what_the_review_found_is_refused_or_answered_as_the_orm_does(people):
    from django.db.models import F, Q

    # A value used twice, once rewritten (a pattern): refused, not frozen into the SQL.
    twice = PreparedQuery(
        lambda value: Identity.objects.filter(Q(value=value) | Q(value__icontains=value)),
        value=str,
    )
    with pytest.raises(PreparedQueryError, match="derived"):
        twice.list(value="p1")
    # A constant computed from a value (value + 1): refused.
    ranged = PreparedQuery(
        lambda low, other: Contact.objects.filter(pk__range=(low, low + 1)).exclude(pk=other),
        low=int,
        other=int,
    )
    with pytest.raises(PreparedQueryError, match="derived"):
        ranged.list(low=1, other=2)
    # An empty list under OR still matches the other branch, as in the ORM.
    either = PreparedQuery(
        lambda ids, kind: Identity.objects.filter(Q(pk__in=ids) | Q(kind=kind)).order_by("pk"),
        ids=list[int],
        kind=str,
    )
    expected = list(Identity.objects.filter(kind="email").order_by("pk"))
    assert either.list(ids=[], kind="email") == expected
    nothing = PreparedQuery(lambda ids: Identity.objects.filter(pk__in=ids), ids=list[int])
    with CaptureQueriesContext(connection) as queries:
        assert nothing.list(ids=[]) == []
    assert len(queries) == 0  # the ORM runs no query for it either
    # values_list rows keep only their columns, whatever the ordering adds.
    kinds = PreparedQuery(
        lambda kind: (
            Identity.objects.filter(kind=kind).order_by("value").values_list("kind", "contact_id")
        ),
        kind=str,
    )
    assert kinds.list(kind="email") == list(
        Identity.objects.filter(kind="email").order_by("value").values_list("kind", "contact_id")
    )
    # What it would not give back as Django does is refused.
    annotated = PreparedQuery(
        lambda kind: Identity.objects.filter(kind=kind).annotate(up=F("value")), kind=str
    )
    with pytest.raises(PreparedQueryError, match="Annotations"):
        annotated.list(kind="email")
    # Values of the wrong type are refused, not sent to the database.
    query = _identity_query()
    with pytest.raises(TypeError, match="value takes str"):
        query.first(kind="email", value=5)
    with pytest.raises(TypeError, match="takes a list"):
        either.list(ids=5, kind="email")
