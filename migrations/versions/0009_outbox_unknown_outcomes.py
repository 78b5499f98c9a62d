"""outbox.unknown_outcomes: sends whose answer from the messenger was lost

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 04:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('unknown_outcomes', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('unknown_outcomes')
