"""held_count: rows per data class and day, kept by triggers, for the DPO's compliance and inventory

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

The DPO's compliance view and inventory counted every row of the big tables on every request
(10M reports: seconds per page). The counts per data class and day are now kept by the database
itself, in the same transaction as the rows they count: a trigger on each counted table adds on
insert and subtracts on delete (and on an update of the counted columns, which nothing does), and
a day's count row goes when its last record does. Whatever writes the rows (intake's group commit,
a retention purge, a bench fill, a test), the counts stay exact. Which holdings are counted is
declared beside them (Holding.counted); retention.counts reads the table.

SQLite has row triggers only. PostgreSQL uses statement triggers over transition tables, so a
batch of a group commit or of a purge costs one statement, and takes the count rows' locks in
one order (data class, day) so that two writers never deadlock on them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# (table, the data class of a row as SQL over the row, the column counted by): the holdings
# declared counted=True (service/reports/holdings.py, service/signals/holdings.py).
COUNTED = (
    ("report", "{row}.data_class", "epoch"),
    ("submission", "'idempotency_records'", "epoch"),
    ("signal_tally", "'signal_tallies'", "week"),
)


def _key_columns(data_class: str, age: str) -> tuple[str, ...]:
    """The table's columns the count depends on (an UPDATE of any of them moves a row's count)."""
    return tuple(sorted({age, *([data_class.split(".", 1)[1]] if data_class.startswith("{row}.") else [])}))


def _sqlite(table: str, data_class: str, age: str) -> list[str]:
    def add(row: str, delta: str) -> str:
        return (f"INSERT INTO held_count (data_class, epoch, records) "
                f"VALUES ({data_class.format(row=row)}, {row}.{age}, {delta}) "
                f"ON CONFLICT (data_class, epoch) DO UPDATE SET records = records + {delta};")

    def remove(row: str) -> str:
        where = f"data_class = {data_class.format(row=row)} AND epoch = {row}.{age}"
        return (f"UPDATE held_count SET records = records - 1 WHERE {where}; "
                f"DELETE FROM held_count WHERE {where} AND records = 0;")

    columns = ", ".join(_key_columns(data_class, age))
    return [
        f"CREATE TRIGGER held_count_{table}_insert AFTER INSERT ON {table} BEGIN {add('NEW', '1')} END",
        f"CREATE TRIGGER held_count_{table}_delete AFTER DELETE ON {table} BEGIN {remove('OLD')} END",
        f"CREATE TRIGGER held_count_{table}_update AFTER UPDATE OF {columns} ON {table} "
        f"BEGIN {remove('OLD')} {add('NEW', '1')} END",
    ]


def _postgresql(table: str, data_class: str, age: str) -> list[str]:
    def grouped(rows: str) -> str:
        klass = data_class.format(row=rows)
        return (f"SELECT {klass} AS data_class, {rows}.{age} AS epoch, count(*) AS records FROM {rows} "
                f"GROUP BY 1, 2 ORDER BY 1, 2")

    def add(rows: str) -> str:
        return (f"INSERT INTO held_count (data_class, epoch, records) {grouped(rows)} "
                f"ON CONFLICT (data_class, epoch) DO UPDATE SET records = held_count.records + EXCLUDED.records;")

    def remove(rows: str) -> str:
        return (f"UPDATE held_count SET records = held_count.records - gone.records FROM ({grouped(rows)}) AS gone "
                f"WHERE held_count.data_class = gone.data_class AND held_count.epoch = gone.epoch; "
                f"DELETE FROM held_count USING ({grouped(rows)}) AS gone "
                f"WHERE held_count.data_class = gone.data_class AND held_count.epoch = gone.epoch "
                f"AND held_count.records = 0;")

    def function(name: str, body: str) -> str:
        return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body} RETURN NULL; END $$")

    old_row = data_class.format(row="OLD")
    new_row = data_class.format(row="NEW")
    moved = (f"UPDATE held_count SET records = records - 1 WHERE data_class = {old_row} AND epoch = OLD.{age}; "
             f"DELETE FROM held_count WHERE data_class = {old_row} AND epoch = OLD.{age} AND records = 0; "
             f"INSERT INTO held_count (data_class, epoch, records) VALUES ({new_row}, NEW.{age}, 1) "
             f"ON CONFLICT (data_class, epoch) DO UPDATE SET records = held_count.records + 1;")
    columns = ", ".join(_key_columns(data_class, age))
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in _key_columns(data_class, age))
    name = f"held_count_{table}"
    return [
        function(f"{name}_insert", add("inserted")),
        function(f"{name}_delete", remove("deleted")),
        function(f"{name}_update", moved),
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS inserted "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_insert()",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS deleted "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_delete()",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF {columns} ON {table} "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {name}_update()",
    ]


def upgrade() -> None:
    op.create_table('held_count',
    sa.Column('data_class', sa.String(length=32), nullable=False),
    sa.Column('epoch', sa.Date(), nullable=False),
    sa.Column('records', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('data_class', 'epoch', name=op.f('pk_held_count'))
    )
    dialect = op.get_bind().dialect.name
    for table, data_class, age in COUNTED:
        # What the tables already hold, then the triggers (a migration runs with the service stopped).
        op.execute(
            f"INSERT INTO held_count (data_class, epoch, records) "
            f"SELECT {data_class.format(row=table)}, {age}, count(*) FROM {table} GROUP BY 1, 2"
        )
        for statement in (_postgresql if dialect == "postgresql" else _sqlite)(table, data_class, age):
            op.execute(statement)
    if dialect == "postgresql":
        op.execute("ANALYZE held_count")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, _data_class, _age in COUNTED:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS held_count_{table}_{event}" + (f" ON {table}" if dialect == "postgresql" else ""))
            if dialect == "postgresql":
                op.execute(f"DROP FUNCTION IF EXISTS held_count_{table}_{event}()")
    op.drop_table('held_count')
