"""Current versions marked on submissions (issue 19): is_current, kept by triggers

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 16:30:00

A figure's current version is its highest; until now every query found it with an anti-join over
all versions. `submissions.is_current` says it directly, so the summary reads the current figures
of a period through a partial index and adds them up in one pass.

The database keeps the marker, in the same statement as versions are written or deleted, whichever
code writes them (the bot, imports, the demo, benchmarks and tests that insert rows directly): on
PostgreSQL statement-level triggers over the statement's transition table, one set-based update per
statement (a bulk load of 600,000 versions costs one join, not 600,000 row triggers), run as
dynamic SQL so that each is planned for its own number of rows; on SQLite row triggers (probes of
the unique index, in process). A version inserted below a higher one (rows loaded out of order) is
not current; deleting the current version (a cascade from a unit, a part or a plan) makes the next
highest current. Versions are never updated in place (append-only), so no update trigger.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# For the keys (unit, part, period) a statement touched (the transition table TG_ARGV[0]):
# is_current = (version is the key's highest), written only where it changes.
_PG_FUNCTION = """
CREATE FUNCTION submissions_mark_current() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        UPDATE submissions s SET is_current = (s.version = k.top)
        FROM (SELECT o.unit_id, o.part_id, o.period, max(o.version) AS top
              FROM submissions o
              JOIN (SELECT DISTINCT unit_id, part_id, period FROM %I) t
                ON o.unit_id = t.unit_id AND o.part_id = t.part_id AND o.period = t.period
              GROUP BY o.unit_id, o.part_id, o.period) k
        WHERE s.unit_id = k.unit_id AND s.part_id = k.part_id AND s.period = k.period
          AND s.is_current IS DISTINCT FROM (s.version = k.top)
    $q$, TG_ARGV[0]);
    RETURN NULL;
END
$$
"""
_PG_TRIGGERS = (
    "CREATE TRIGGER submissions_current_insert AFTER INSERT ON submissions REFERENCING NEW TABLE AS written "
    "FOR EACH STATEMENT EXECUTE FUNCTION submissions_mark_current('written')",
    "CREATE TRIGGER submissions_current_delete AFTER DELETE ON submissions REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION submissions_mark_current('removed')",
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
    op.create_index('ix_submissions_current_figures', 'submissions', ['plan_id', 'period', 'part_id'],
                    unique=False, postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))
    if dialect == 'postgresql':
        op.execute(_PG_FUNCTION)
        for trigger in _PG_TRIGGERS:
            op.execute(trigger)
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
        op.execute('DROP FUNCTION IF EXISTS submissions_mark_current()')
    op.drop_index('ix_submissions_current_figures', table_name='submissions')
    op.drop_column('submissions', 'is_current')
