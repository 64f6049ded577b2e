"""ORM queries compiled once and run many times with new parameter values.

Django compiles a queryset to SQL on every evaluation: it clones the query for each ``filter``,
resolves every lookup, walks the model's fields for the select list and the joins of
``select_related``. On the hot paths of ingest (the sender's identity and contact, the
conversation to thread into, the API token) that costs 0.7-1.5 ms of CPU per query, several
times the database round trip. A ``PreparedQuery`` keeps the queryset as the definition (so it
stays portable: SQLite drops ``FOR UPDATE``, PostgreSQL keeps it) and compiles it once per
database alias; later calls put the new values into the compiled parameters and build the
instances as Django's ``ModelIterable`` does, ``select_related`` objects included.

    identity_of = PreparedQuery(
        lambda kind, value: Identity.objects.select_related("contact").filter(
            kind=kind, value=value
        ),
        kind=str,
        value=str,
    )
    identity = identity_of.first(kind="email", value="ada@example.com")

Each parameter is declared with its type: ``str``, ``int``, or ``list[str]`` / ``list[int]``
for an ``__in`` lookup (compiled once per list length). A ``values_list()`` queryset gives
tuples, or values with ``flat=True``. The queryset is compiled with a
marker value in each parameter's place and the markers are found in the compiled parameters, so
a parameter the ORM rewrites on the way (a lookup that lower-cases or wraps it, e.g.
``__icontains``) cannot be prepared: that raises ``PreparedQueryError`` at the first call,
which the tests of every caller reach.
"""

from __future__ import annotations

import random
import threading
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.db.models.sql.subqueries import InsertQuery, UpdateQuery
from django.db.transaction import TransactionManagementError

M = TypeVar("M")

_random = random.SystemRandom()


class PreparedQueryError(Exception):
    """The queryset cannot be prepared (a parameter does not reach the SQL as given)."""


def _marker(kind: type) -> Any:
    """A value no query would hold as a constant: random, so two compiles never share one."""
    number = _random.getrandbits(62) | (1 << 61)
    if kind is int:
        return number
    if kind is str:
        return f"prepared-{number:x}"
    raise PreparedQueryError(f"Parameters are str, int or a list of them, not {kind}.")


def _check_type(name: str, kind: type, value: Any) -> None:
    if not isinstance(value, kind) or isinstance(value, bool):  # a bool is no id
        raise TypeError(f"Parameter {name} takes {kind.__name__}, not {type(value).__name__}.")


def _element_type(kind: Any) -> type | None:
    """``str`` for ``list[str]``; None for a plain parameter."""
    if typing.get_origin(kind) is list:
        (element,) = typing.get_args(kind)
        return element
    return None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple  # constants, with the parameter names where a value goes
    slots: tuple[tuple[int, str, int | None], ...]  # (position, parameter, index in a list)
    for_update: bool
    model: type[Model] | None  # None: a values_list() query, rows come back as tuples
    flat: bool  # values_list(flat=True): the first column of each row
    columns: int  # columns of a values_list() row (ordering may select more)
    init_list: tuple[str, ...]
    model_slice: slice
    related_populators: list
    converters: dict  # position -> (converters, expression), as the compiler gives them


class PreparedQuery(Generic[M]):
    """See the module docstring. A ``list[str]`` / ``list[int]`` parameter (for ``__in``) is
    compiled once per list length."""

    def __init__(self, build: Callable[..., QuerySet], **parameters: Any):
        self.build = build
        self.parameters = parameters
        self._lists = {
            name: element
            for name, kind in parameters.items()
            if (element := _element_type(kind)) is not None
        }
        self._compiled: dict[tuple, _Compiled] = {}
        self._lock = threading.Lock()

    def first(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> M | None:
        """The first row (the queryset should be ordered, or match one row at most)."""
        rows = self._run(using, values, first=True)
        return rows[0] if rows else None

    def list(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[M]:
        return self._run(using, values, first=False)

    def _run(self, using: str, values: dict[str, Any], *, first: bool) -> list:
        if values.keys() != self.parameters.keys():
            raise TypeError(f"Give exactly these parameters: {', '.join(self.parameters)}.")
        for name, kind in self.parameters.items():
            element = self._lists.get(name)
            if element is None:
                _check_type(name, kind, values[name])
            else:
                if not isinstance(values[name], list | tuple):
                    raise TypeError(f"Parameter {name} takes a list.")
                for item in values[name]:
                    _check_type(name, element, item)
        lengths = tuple(len(values[name]) for name in self._lists)
        key = (using, first, lengths)
        compiled = self._compiled.get(key) or self._compile(key)
        if compiled is _EMPTY:
            return []  # the ORM answers this one without a query (e.g. ``__in`` of nothing)
        connection = connections[using]
        if compiled.for_update and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(compiled.params)
        for position, name, index in compiled.slots:
            params[position] = values[name] if index is None else values[name][index]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [_converted(row, compiled.converters, connection) for row in rows]
        if compiled.model is None:
            width = compiled.columns  # ordering may have added columns the rows do not show
            if compiled.flat:
                return [row[0] for row in rows]
            return [tuple(row[:width]) for row in rows]
        objects = []
        for row in rows:
            obj = compiled.model.from_db(using, compiled.init_list, row[compiled.model_slice])
            for populator in compiled.related_populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects

    def _compile(self, key: tuple) -> _Compiled | object:
        using, first, lengths = key
        with self._lock:
            found = self._compiled.get(key)
            if found is not None:
                return found
            length_of = dict(zip(self._lists, lengths, strict=True))
            # Compiled twice with different markers: what differs between the two is where the
            # values go; a constant that differs was derived from a value (``%value%`` of a
            # ``contains``, ``value + 1`` of a range), so the query cannot be prepared.
            first_run, second_run = (self._compile_once(using, first, length_of) for _ in "ab")
            if first_run is None or second_run is None:
                self._compiled[key] = _EMPTY
                return _EMPTY
            (sql, params, by_marker, compiler, queryset), (sql2, params2, by_marker2, *_) = (
                first_run,
                second_run,
            )
            if sql != sql2 or len(params) != len(params2):
                raise PreparedQueryError("The SQL depends on the values given.")
            slots, constants, placed = [], [], set()
            for position, (value, value2) in enumerate(zip(params, params2, strict=True)):
                slot = _slot(by_marker, value)
                if slot is not None and slot == _slot(by_marker2, value2):
                    slots.append((position, *slot))
                    placed.add(slot)
                elif value != value2 or _holds_marker(value, by_marker):
                    raise PreparedQueryError(
                        f"A value of the query is derived from a parameter (position {position})."
                    )
                constants.append(value)
            missing = {name for name, index in by_marker.values() if (name, index) not in placed}
            if missing:
                raise PreparedQueryError(
                    f"Parameter(s) {', '.join(sorted(missing))} do not reach the SQL as given."
                )
            iterable = queryset._iterable_class
            select = compiler.select
            columns = [column for column, _, _ in select[: compiler.col_count]]
            klass_info = compiler.klass_info if iterable is ModelIterable else None
            if klass_info is not None:
                model_slice = slice(
                    klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
                )
                init_list = tuple(field[0].target.attname for field in select[model_slice])
                populators = get_related_populators(klass_info, select, using)
            else:
                model_slice, init_list, populators = slice(0), (), []
            compiled = _Compiled(
                sql=sql,
                params=tuple(constants),
                slots=tuple(slots),
                for_update=bool(queryset.query.select_for_update)
                and connections[using].features.has_select_for_update,
                model=klass_info["model"] if klass_info is not None else None,
                flat=iterable is FlatValuesListIterable,
                columns=compiler.col_count,
                init_list=init_list,
                model_slice=model_slice,
                related_populators=populators,
                converters=compiler.get_converters(columns),
            )
            self._compiled[key] = compiled
            return compiled

    def _compile_once(self, using: str, first: bool, length_of: dict[str, int]):
        """(sql, params, marker -> (name, index), compiler, queryset); None when the ORM would
        not run the query at all (``EmptyResultSet``)."""
        markers: dict[str, Any] = {}
        by_marker: dict[Any, tuple[str, int | None]] = {}
        for name, kind in self.parameters.items():
            if name in length_of:
                markers[name] = [_marker(self._lists[name]) for _ in range(length_of[name])]
                by_marker.update({m: (name, i) for i, m in enumerate(markers[name])})
            else:
                markers[name] = _marker(kind)
                by_marker[markers[name]] = (name, None)
        queryset = self.build(**markers)
        if queryset._iterable_class not in (
            ModelIterable,
            ValuesListIterable,
            FlatValuesListIterable,
        ):
            raise PreparedQueryError("Prepare a queryset of models or a values_list().")
        if (
            queryset._prefetch_related_lookups
            or queryset.query.extra
            or (queryset._iterable_class is ModelIterable and queryset.query.annotations)
        ):
            raise PreparedQueryError(
                "Annotations, extra() and prefetch_related() are not prepared."
            )
        if first:
            queryset = queryset[:1]
        compiler = queryset.query.get_compiler(using=using)
        connection = connections[using]
        try:
            if queryset.query.select_for_update and connection.get_autocommit():
                # ``as_sql`` refuses FOR UPDATE outside a transaction; nothing runs in this one.
                with transaction.atomic(using=using, savepoint=False):
                    sql, params = compiler.as_sql()
            else:
                sql, params = compiler.as_sql()
        except EmptyResultSet:
            return None
        if not sql:
            return None
        return sql, list(params), by_marker, compiler, queryset


_EMPTY = object()  # a compiled query the ORM would not run: no rows


def _slot(by_marker: dict, value: Any) -> tuple[str, int | None] | None:
    if type(value) not in (int, str):
        return None
    return by_marker.get(value)


def _holds_marker(value: Any, by_marker: dict) -> bool:
    """A constant with a marker inside (a pattern built from a value)."""
    if not isinstance(value, str):
        return False
    return any(isinstance(m, str) and m in value for m in by_marker)


def _converted(row: tuple, converters: dict, connection) -> list:
    """``SQLCompiler.apply_converters`` for one row."""
    row = list(row)
    for position, (functions, expression) in converters.items():
        value = row[position]
        for function in functions:
            value = function(value, expression, connection)
        row[position] = value
    return row


class PreparedSave:
    """``Model.save()`` with its INSERT and UPDATE statements compiled once per set of columns.

    Django builds an ``InsertQuery`` / ``UpdateQuery`` and compiles it on every save; for a
    message or a conversation that compile costs as much CPU as preparing the values and
    running the statement together (~0.27 ms of ~0.57 ms per insert, more per update). Mixed
    into a model (``class Message(PreparedSave, models.Model)``), a save prepares each value as
    Django does (``pre_save``, ``get_db_prep_save``) and runs the SQL compiled the first time for
    the same columns. Everything else of ``save()`` (signals, ``update_fields``, the
    UPDATE-then-INSERT fallback, ``select_on_save``) is Django's; anything these compiled
    statements do not cover (an expression such as ``F()`` as a value, a field with its own
    placeholder, a database that cannot return the new id) goes through Django's own path.
    """

    _prepared_sql: dict  # per model class, created on first use

    @classmethod
    def _prepared_cache(cls) -> dict:
        cache = cls.__dict__.get("_prepared_sql")
        if cache is None:
            cache = {}
            cls._prepared_sql = cache
        return cache

    def _do_insert(self, manager, using, fields, returning_fields, raw):
        connection = connections[using]
        if not connection.features.can_return_columns_from_insert or any(
            hasattr(field, "get_placeholder") for field in fields
        ):
            return super()._do_insert(manager, using, fields, returning_fields, raw)
        values = [
            getattr(self, field.attname) if raw else field.pre_save(self, add=True)
            for field in fields
        ]
        if any(hasattr(value, "resolve_expression") for value in values):
            return super()._do_insert(manager, using, fields, returning_fields, raw)
        key = ("insert", manager.model, using, raw, *fields, "|", *returning_fields)
        cache = self._prepared_cache()
        compiled = cache.get(key)
        if compiled is None:
            query = InsertQuery(manager.model)
            query.insert_values(fields, [self], raw=raw)
            compiler = query.get_compiler(using=using)
            compiler.returning_fields = returning_fields
            ((sql, _params),) = compiler.as_sql()
            table = manager.model._meta.db_table
            converters = compiler.get_converters([f.get_col(table) for f in returning_fields])
            compiled = cache[key] = (sql, compiler.returning_params, converters)
        sql, returning_params, converters = compiled
        params = [
            field.get_db_prep_save(value, connection=connection)
            for field, value in zip(fields, values, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if not returning_fields:
                return []
            row = connection.ops.fetch_returned_insert_columns(cursor, returning_params)
        if converters:
            row = _converted(row, converters, connection)
        return [tuple(row)]

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        meta = base_qs.model._meta
        if not values or (meta.select_on_save and not forced_update):
            return super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)
        connection = connections[using]
        prepared = []
        for field, _model, value in values:
            if (
                hasattr(value, "resolve_expression")
                or hasattr(value, "prepare_database_save")
                or hasattr(field, "get_placeholder")
            ):
                return super()._do_update(
                    base_qs, using, pk_val, values, update_fields, forced_update
                )
            prepared.append(field.get_db_prep_save(value, connection=connection))
        pk_param = meta.pk.get_db_prep_value(pk_val, connection)
        # A NULL is written into the SQL (``SET x = NULL``), so it is part of the statement.
        shape = tuple(
            (field.attname, value is None)
            for (field, _, _), value in zip(values, prepared, strict=True)
        )
        key = ("update", base_qs.model, using, shape)
        cache = self._prepared_cache()
        sql = cache.get(key)
        if sql is None:
            query = base_qs.filter(pk=pk_val).query.chain(UpdateQuery)
            query.add_update_fields(values)
            sql, params = query.get_compiler(using=using).as_sql()
            # The values, then the primary key: nothing else (a base manager that filters has
            # more parameters; it goes Django's way).
            expected = sum(value is not None for value in prepared) + 1
            if len(params) != expected or params[-1] != pk_param:
                return super()._do_update(
                    base_qs, using, pk_val, values, update_fields, forced_update
                )
            cache[key] = sql
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for value in prepared if value is not None] + [pk_param])
            return cursor.rowcount > 0
