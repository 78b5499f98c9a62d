"""Zalo (issue 14): public_files (charts and spreadsheets served at PUBLIC_BASE_URL), link_codes
(/lienket), and where a person on several messengers gets scheduled messages (/kenh)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
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
    op.create_table(
        'link_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_link_codes_person_id_people'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_codes')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_link_codes_code_hash')),
    )
    op.create_index(op.f('ix_link_codes_person_id'), 'link_codes', ['person_id'], unique=False)
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('prompt_channel', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('last_channel', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.drop_column('last_channel')
        batch.drop_column('prompt_channel')
    op.drop_index(op.f('ix_link_codes_person_id'), table_name='link_codes')
    op.drop_table('link_codes')
    op.drop_index(op.f('ix_public_files_expires_at'), table_name='public_files')
    op.drop_table('public_files')
