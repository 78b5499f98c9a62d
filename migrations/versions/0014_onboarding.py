"""Onboarding (issue 16): when each person last wrote to the bot, and the roster of who each unit's
officer should be, and practice copies of plans

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
    # A plain column, no foreign key: adding one makes SQLite rebuild `plans`, and dropping the old
    # table would cascade-delete every unit, indicator and figure of every plan.
    with op.batch_alter_table('plans') as batch:
        batch.add_column(sa.Column('practice_of_id', sa.Integer(), nullable=True))
    op.create_table(
        'roster_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('full_name', sa.Text(), nullable=False),
        sa.Column('position', sa.Text(), nullable=True),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_roster_entries_plan_id_plans'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_roster_entries_unit_id_units'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_entries')),
    )
    op.create_index(op.f('ix_roster_entries_plan_id'), 'roster_entries', ['plan_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_roster_entries_plan_id'), table_name='roster_entries')
    op.drop_table('roster_entries')
    for table, column in (('plans', 'practice_of_id'), ('people', 'last_seen_at')):
        if op.get_bind().dialect.name == 'sqlite':
            # SQLite's own DROP COLUMN (3.35+): a batch rebuild would drop the table, and its
            # ON DELETE CASCADE children (every unit, figure, role) with it.
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        else:
            op.drop_column(table, column)
