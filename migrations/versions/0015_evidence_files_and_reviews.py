"""evidence files (issue 17): what each kept file is, which figure it proves; reviews: the tracking
office's approvals and returns; period locks (khóa sổ) and change requests to closed periods

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:57:58.790755
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER TABLE on both: a batch copy of `indicators` on SQLite would drop the table, and
    # the drop cascades to every part and figure (foreign keys are on).
    op.add_column('indicators', sa.Column('evidence_required', sa.Boolean(), server_default=sa.false(),
                                          nullable=False))
    op.create_table('evidence_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_files')),
    sa.UniqueConstraint('sha256', name=op.f('uq_evidence_files_sha256'))
    )
    op.create_table('evidence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('file_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('submission_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('message_ref', sa.String(length=128), nullable=True),
    sa.Column('attached_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['evidence_files.id'],
                            name=op.f('fk_evidence_file_id_evidence_files'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['part_id'], ['indicator_parts.id'],
                            name=op.f('fk_evidence_part_id_indicator_parts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                            name=op.f('fk_evidence_person_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                            name=op.f('fk_evidence_plan_id_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'],
                            name=op.f('fk_evidence_submission_id_submissions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                            name=op.f('fk_evidence_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_figure', ['unit_id', 'part_id', 'period'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_file_id'), ['file_id'], unique=False)

    op.create_table('reviews',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('submission_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['part_id'], ['indicator_parts.id'],
                            name=op.f('fk_reviews_part_id_indicator_parts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                            name=op.f('fk_reviews_person_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                            name=op.f('fk_reviews_plan_id_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'],
                            name=op.f('fk_reviews_submission_id_submissions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                            name=op.f('fk_reviews_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index('ix_reviews_figure', ['unit_id', 'part_id', 'period'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviews_submission_id'), ['submission_id'], unique=False)



    op.create_table('period_locks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['part_id'], ['indicator_parts.id'],
                            name=op.f('fk_period_locks_part_id_indicator_parts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                            name=op.f('fk_period_locks_person_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                            name=op.f('fk_period_locks_plan_id_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_period_locks'))
    )
    with op.batch_alter_table('period_locks', schema=None) as batch_op:
        batch_op.create_index('ix_period_locks_part_period', ['part_id', 'period'], unique=False)

    op.create_table('change_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('figure', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_channel', sa.String(length=16), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submission_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['people.id'],
                            name=op.f('fk_change_requests_decided_by_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['part_id'], ['indicator_parts.id'],
                            name=op.f('fk_change_requests_part_id_indicator_parts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                            name=op.f('fk_change_requests_person_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                            name=op.f('fk_change_requests_plan_id_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'],
                            name=op.f('fk_change_requests_submission_id_submissions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                            name=op.f('fk_change_requests_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_requests'))
    )
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.create_index('ix_change_requests_figure', ['unit_id', 'part_id', 'period'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_change_requests_figure')
    op.drop_table('change_requests')
    with op.batch_alter_table('period_locks', schema=None) as batch_op:
        batch_op.drop_index('ix_period_locks_part_period')
    op.drop_table('period_locks')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_submission_id'))
        batch_op.drop_index('ix_reviews_figure')

    op.drop_table('reviews')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_file_id'))
        batch_op.drop_index('ix_evidence_figure')

    op.drop_table('evidence')
    op.drop_table('evidence_files')
    # Not through a batch copy: on SQLite that drops and recreates `indicators`, and the drop
    # cascades to every part and figure (foreign keys are on). SQLite ≥ 3.35 drops a column itself.
    op.execute('ALTER TABLE indicators DROP COLUMN evidence_required')
