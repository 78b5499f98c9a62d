"""public_files: charts and spreadsheets served at PUBLIC_BASE_URL for Zalo (issue 14)

Revision ID: 0012
Revises: 0009 (re-chained after 0010 and 0011 at merge)
Create Date: 2026-12-03 09:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'public_files',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_public_files')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_public_files_token_hash')),
    )
    op.create_index(op.f('ix_public_files_expires_at'), 'public_files', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_public_files_expires_at'), table_name='public_files')
    op.drop_table('public_files')
