"""submissions.not_applicable: "không phát sinh", nothing to report for a period

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 04:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submissions') as batch:
        batch.add_column(sa.Column('not_applicable', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('submissions') as batch:
        batch.drop_column('not_applicable')
