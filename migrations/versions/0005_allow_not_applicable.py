"""indicator_parts.allow_not_applicable: a plan file may forbid "không phát sinh" for a part

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 04:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('indicator_parts') as batch:
        batch.add_column(sa.Column('allow_not_applicable', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('indicator_parts') as batch:
        batch.drop_column('allow_not_applicable')
