"""intake: updates taken from the messenger before they are handled

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'intake',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('update_key', sa.String(length=64), nullable=False),
        sa.Column('event', sa.JSON(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_intake')),
        sa.UniqueConstraint('channel', 'update_key', name=op.f('uq_intake_channel_update_key')),
    )


def downgrade() -> None:
    op.drop_table('intake')
