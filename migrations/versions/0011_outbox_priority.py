"""outbox.priority: replies before reminders and prompts before bulk, when messages wait

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Messages already queued count as routine: neither ahead of new replies nor behind summaries.
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('priority', sa.SmallInteger(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('priority')
