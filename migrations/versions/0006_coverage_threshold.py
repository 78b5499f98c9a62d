"""plans.coverage_threshold: the share of units with a figure before a plan-wide verdict

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: existing plans keep the default (80%) until their file sets one.
    with op.batch_alter_table('plans') as batch:
        batch.add_column(sa.Column('coverage_threshold', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plans') as batch:
        batch.drop_column('coverage_threshold')
