"""The web desk (issue 23): sign-in links, browser sessions and API keys

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 13:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def _person_table(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        *columns,
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f(f'fk_{name}_person_id_people'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
        sa.UniqueConstraint('token_hash', name=op.f(f'uq_{name}_token_hash')),
    )
    op.create_index(op.f(f'ix_{name}_person_id'), name, ['person_id'], unique=False)


def upgrade() -> None:
    _person_table('web_logins', sa.Column('used_at', sa.DateTime(timezone=True), nullable=True))
    _person_table('web_sessions', sa.Column('csrf', sa.String(length=64), nullable=False),
                  sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'api_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_api_keys_plan_id_plans'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    )
    op.create_index(op.f('ix_api_keys_plan_id'), 'api_keys', ['plan_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_api_keys_plan_id'), table_name='api_keys')
    op.drop_table('api_keys')
    for name in ('web_sessions', 'web_logins'):
        op.drop_index(op.f(f'ix_{name}_person_id'), table_name=name)
        op.drop_table(name)
