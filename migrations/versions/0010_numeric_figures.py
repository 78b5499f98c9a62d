"""submissions' figures as exact numbers the database can add; the duplicate index dropped

value, numerator and denominator were text (varchar(40)). Now NUMERIC(18, 6) on PostgreSQL and,
on SQLite, millionths in a 64-bit integer (models.tables.FigureNumber). A stored figure that
would not fit exactly (12 digits before the decimal mark, 6 after) stops the upgrade with its
row ids rather than being rounded. ix_submissions_current indexed exactly the columns of the
unique constraint uq_submissions_unit_id (the same index twice), so it goes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:40:00
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

COLUMNS = ('value', 'numerator', 'denominator')
PLACES = 6
LIMIT = Decimal(10) ** 12
_TEXT = sa.String(length=40)
_NUMERIC = sa.Numeric(precision=18, scale=PLACES)


def _millionths(text: str | None) -> int | None:
    """The stored text as an exact count of millionths; ValueError when it has no exact one."""
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    scaled = number.scaleb(PLACES)
    if not number.is_finite() or abs(number) >= LIMIT or scaled != scaled.to_integral_value():
        raise ValueError(text)
    return int(scaled)


def _text(millionths: int | None) -> str | None:
    """Millionths back as the text DecimalText wrote: normalised, no exponent (72.5, 1000)."""
    if millionths is None:
        return None
    number = Decimal(millionths).scaleb(-PLACES).normalize()
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    return format(number, 'f')


def _check(rows: list[sa.Row]) -> None:
    wrong = []
    for row in rows:
        try:
            for name in COLUMNS:
                _millionths(getattr(row, name))
        except ValueError:
            wrong.append(row.id)
    if wrong:
        shown = ', '.join(str(i) for i in wrong[:20])
        raise RuntimeError(
            f'{len(wrong)} submissions hold a figure that NUMERIC(18, {PLACES}) cannot store exactly '
            f'(ids {shown}{" …" if len(wrong) > 20 else ""}); correct them, then upgrade again')


def _rows(bind: sa.engine.Connection) -> list[sa.Row]:
    return list(bind.execute(sa.text(
        'SELECT id, value, numerator, denominator FROM submissions '
        'WHERE value IS NOT NULL OR numerator IS NOT NULL OR denominator IS NOT NULL')))


def upgrade() -> None:
    bind = op.get_bind()
    rows = _rows(bind)
    _check(rows)
    if bind.dialect.name == 'sqlite':
        # Text columns still: store the millionths as digits, which the integer column the batch
        # copy creates takes as integers (SQLite's integer affinity).
        if rows:
            bind.execute(
                sa.text('UPDATE submissions SET value = :value, numerator = :numerator, '
                        'denominator = :denominator WHERE id = :id'),
                [{'id': row.id, **{name: _digits(getattr(row, name)) for name in COLUMNS}} for row in rows])
        with op.batch_alter_table('submissions') as batch:
            batch.drop_index('ix_submissions_current')
            for name in COLUMNS:
                batch.alter_column(name, existing_type=_TEXT, type_=sa.BigInteger(), existing_nullable=True)
        return
    op.drop_index('ix_submissions_current', table_name='submissions')
    for name in COLUMNS:
        op.alter_column('submissions', name, existing_type=_TEXT, type_=_NUMERIC, existing_nullable=True,
                        postgresql_using=f'{name}::numeric(18, {PLACES})')


def _digits(text: str | None) -> str | None:
    millionths = _millionths(text)
    return None if millionths is None else str(millionths)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        with op.batch_alter_table('submissions') as batch:
            for name in COLUMNS:
                batch.alter_column(name, existing_type=sa.BigInteger(), type_=_TEXT, existing_nullable=True)
            batch.create_index('ix_submissions_current', ['unit_id', 'part_id', 'period', 'version'])
        rows = _rows(bind)
        if rows:
            bind.execute(
                sa.text('UPDATE submissions SET value = :value, numerator = :numerator, '
                        'denominator = :denominator WHERE id = :id'),
                [{'id': row.id, **{name: _text(_integer(getattr(row, name))) for name in COLUMNS}}
                 for row in rows])
        return
    for name in COLUMNS:
        # trim_scale: 72.500000 back to the text it was, 72.5
        op.alter_column('submissions', name, existing_type=_NUMERIC, type_=_TEXT, existing_nullable=True,
                        postgresql_using=f'trim_scale({name})::varchar(40)')
    op.create_index('ix_submissions_current', 'submissions', ['unit_id', 'part_id', 'period', 'version'])


def _integer(stored: object) -> int | None:
    """What the text column holds after the copy: the integer's digits (SQLite's CAST as text)."""
    return None if stored is None else int(str(stored))
