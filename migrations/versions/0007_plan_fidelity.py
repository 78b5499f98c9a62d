"""Plan fidelity: when collecting starts, why units report, target conditions and conflicts

plans.collect_from: the first month the bot collects;
indicators.reporters_reason, target_source, conflicts: who reports and why; where the chosen
target is stated and the document's other statements of it;
indicator_parts.condition: what a target waits for ("sau khi …").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plans') as batch:
        batch.add_column(sa.Column('collect_from', sa.String(length=8), nullable=True))
    with op.batch_alter_table('indicators') as batch:
        batch.add_column(sa.Column('reporters_reason', sa.Text(), nullable=True))
        batch.add_column(sa.Column('target_source', sa.Text(), nullable=True))
        batch.add_column(sa.Column('conflicts', sa.JSON(), server_default='[]', nullable=False))
    with op.batch_alter_table('indicator_parts') as batch:
        batch.add_column(sa.Column('condition', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('indicator_parts') as batch:
        batch.drop_column('condition')
    with op.batch_alter_table('indicators') as batch:
        batch.drop_column('conflicts')
        batch.drop_column('target_source')
        batch.drop_column('reporters_reason')
    with op.batch_alter_table('plans') as batch:
        batch.drop_column('collect_from')
