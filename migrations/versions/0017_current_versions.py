"""Current versions marked on submissions (issue 19): is_current, kept by triggers

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 16:30:00

A figure's current version is its highest; until now every query found it with an anti-join over
all versions. `submissions.is_current` says it directly, so the summary reads the current figures
of a period through a partial index and adds them up in one pass.

The database keeps the marker, in the statement that writes or deletes versions, whichever code
writes them (the bot, imports, the demo, benchmarks and tests that insert rows directly): row
triggers on both databases, each a probe or two of the unique index by the row's unit, part and
period (on PostgreSQL a BEFORE INSERT trigger sets the new row's own marker; on SQLite an AFTER
INSERT one corrects it). A version inserted below a higher one (rows loaded out of order) is not
current; deleting the current version (one by one, or by cascade from a unit, a part or a plan)
makes the next highest current. Versions are never updated in place (append-only), so no update
trigger. Two writers inserting different versions of one figure at once could both leave theirs
current; the bot never does (a new version is the current one's plus one, and the unique
constraint refuses the second of two such inserts).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# Row triggers, their queries planned once per connection (index probes by the key): a version
# below a higher one is not current, a new highest one replaces the current one; deleting the
# current version makes the next highest current. Rows written earlier by the same statement are
# visible to each row's trigger (a multi-row INSERT of versions 1 and 2 leaves 2 current).
_KEY = "unit_id = {row}.unit_id AND part_id = {row}.part_id AND period = {row}.period"
_PG_FUNCTIONS = (
    f"""CREATE FUNCTION submissions_current_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM submissions WHERE {_KEY.format(row='NEW')} AND version > NEW.version) THEN
        NEW.is_current := false;
    ELSE
        NEW.is_current := true;
        -- "IS NOT FALSE", not "is_current": the partial index of current figures must not
        -- look usable for this probe by the key (unanalysed, the planner would scan it all).
        UPDATE submissions SET is_current = false
         WHERE {_KEY.format(row='NEW')} AND version < NEW.version AND is_current IS NOT FALSE;
    END IF;
    RETURN NEW;
END
$$""",
    f"""CREATE FUNCTION submissions_current_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE submissions SET is_current = true
     WHERE {_KEY.format(row='OLD')}
       AND version = (SELECT max(version) FROM submissions WHERE {_KEY.format(row='OLD')});
    RETURN NULL;
END
$$""",
)
_PG_TRIGGERS = (
    "CREATE TRIGGER submissions_current_insert BEFORE INSERT ON submissions "
    "FOR EACH ROW EXECUTE FUNCTION submissions_current_insert()",
    "CREATE TRIGGER submissions_current_delete AFTER DELETE ON submissions "
    "FOR EACH ROW WHEN (OLD.is_current) EXECUTE FUNCTION submissions_current_delete()",
)

_SQLITE_KEY = "unit_id = {row}.unit_id AND part_id = {row}.part_id AND period = {row}.period"
_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER submissions_current_insert AFTER INSERT ON submissions
    BEGIN
        UPDATE submissions SET is_current = 0
         WHERE {_SQLITE_KEY.format(row='NEW')} AND version < NEW.version AND is_current;
        UPDATE submissions SET is_current = 0
         WHERE id = NEW.id AND EXISTS (SELECT 1 FROM submissions
                                        WHERE {_SQLITE_KEY.format(row='NEW')} AND version > NEW.version);
    END""",
    f"""CREATE TRIGGER submissions_current_delete AFTER DELETE ON submissions WHEN OLD.is_current
    BEGIN
        UPDATE submissions SET is_current = 1
         WHERE {_SQLITE_KEY.format(row='OLD')}
           AND version = (SELECT max(version) FROM submissions WHERE {_SQLITE_KEY.format(row='OLD')});
    END""",
)

# What the triggers keep, for the rows already stored.
_FILL = """
UPDATE submissions SET is_current = {false}
 WHERE EXISTS (SELECT 1 FROM submissions o
                WHERE o.unit_id = submissions.unit_id AND o.part_id = submissions.part_id
                  AND o.period = submissions.period AND o.version > submissions.version)
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column('submissions', sa.Column('is_current', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute(_FILL.format(false='false' if dialect == 'postgresql' else '0'))
    # The (part, period) index gains the unit: a probe by the key (the triggers') is then exact
    # whichever index the planner takes; without statistics (a new database, a bulk load) it
    # took this one and read every unit's rows of the part and period for each row inserted.
    op.drop_index('ix_submissions_part_period', table_name='submissions')
    op.create_index('ix_submissions_part_period_unit', 'submissions', ['part_id', 'period', 'unit_id'], unique=False)
    op.create_index('ix_submissions_current_figures', 'submissions', ['plan_id', 'period', 'part_id'],
                    unique=False, postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))
    if dialect == 'postgresql':
        for statement in (*_PG_FUNCTIONS, *_PG_TRIGGERS):
            op.execute(statement)
        # A function's queries are planned once per connection and the plan kept: planned on an
        # empty or never-analysed table (a new database, a bulk load in one transaction) it could be
        # a scan of the whole table for every row inserted. They are probes by the key: by an index
        # (either of the two above, both exact).
        for function in ('submissions_current_insert', 'submissions_current_delete'):
            op.execute(f'ALTER FUNCTION {function}() SET enable_seqscan = off')
    else:
        for trigger in _SQLITE_TRIGGERS:
            op.execute(trigger)
    if dialect == 'postgresql':
        op.execute('ANALYZE submissions')  # the planner's view of the new column and index


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    on = ' ON submissions' if dialect == 'postgresql' else ''
    op.execute(f'DROP TRIGGER IF EXISTS submissions_current_insert{on}')
    op.execute(f'DROP TRIGGER IF EXISTS submissions_current_delete{on}')
    if dialect == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS submissions_current_insert()')
        op.execute('DROP FUNCTION IF EXISTS submissions_current_delete()')
    op.drop_index('ix_submissions_current_figures', table_name='submissions')
    op.drop_index('ix_submissions_part_period_unit', table_name='submissions')
    op.create_index('ix_submissions_part_period', 'submissions', ['part_id', 'period'], unique=False)
    op.drop_column('submissions', 'is_current')
