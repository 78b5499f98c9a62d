"""people.current_plan_id: the plan a person with roles in several plans works on; server_secrets
(the invite key, generated at first use); invites.keyed: codes hashed with that key (older rows
keep their plain digest and work until they expire); an index to count wrong codes globally

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 04:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('current_plan_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_people_current_plan_id_plans'), 'plans', ['current_plan_id'], ['id'],
                                 ondelete='SET NULL')
    op.create_table(
        'server_secrets',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('value', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_server_secrets')),
    )
    with op.batch_alter_table('invites') as batch:
        batch.add_column(sa.Column('keyed', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('invite_attempts') as batch:
        batch.create_index(op.f('ix_invite_attempts_attempted_at'), ['attempted_at'])


def downgrade() -> None:
    with op.batch_alter_table('invite_attempts') as batch:
        batch.drop_index(op.f('ix_invite_attempts_attempted_at'))
    with op.batch_alter_table('invites') as batch:
        batch.drop_column('keyed')
    op.drop_table('server_secrets')
    with op.batch_alter_table('people') as batch:
        batch.drop_constraint(op.f('fk_people_current_plan_id_plans'), type_='foreignkey')
        batch.drop_column('current_plan_id')
