"""marketing flows: enrollments with their histories, the per-customer send ledger, and discount codes

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('marketing_enrollments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('flow', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('wake_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('active', 'waiting', 'deferred', 'completed', 'exited')", name=op.f('ck_marketing_enrollments_state_known')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_marketing_enrollments_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketing_enrollments')),
    sa.UniqueConstraint('store_id', 'flow', 'subject_type', 'subject_id', name='uq_marketing_enrollments_subject')
    )
    op.create_index('ix_marketing_enrollments_wake_at', 'marketing_enrollments', ['wake_at'], unique=False,
                    postgresql_where=sa.text('wake_at IS NOT NULL'))
    op.create_index('ix_marketing_enrollments_customer', 'marketing_enrollments', ['store_id', 'email', 'flow'],
                    unique=False)
    op.create_table('marketing_sends',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.BigInteger(), nullable=False),
    sa.Column('flow', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('message_key', sa.Text(), nullable=False),
    sa.Column('template', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('shadow', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['marketing_enrollments.id'], name=op.f('fk_marketing_sends_enrollment_id_marketing_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_marketing_sends_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketing_sends')),
    sa.UniqueConstraint('store_id', 'message_key', name='uq_marketing_sends_store_message_key')
    )
    op.create_index('ix_marketing_sends_customer', 'marketing_sends', ['store_id', 'email', 'sent_at'], unique=False)
    op.create_table('marketing_discounts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('percent > 0 AND percent <= 100', name=op.f('ck_marketing_discounts_percent_range')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['marketing_enrollments.id'], name=op.f('fk_marketing_discounts_enrollment_id_marketing_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_marketing_discounts_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketing_discounts')),
    sa.UniqueConstraint('store_id', 'code', name='uq_marketing_discounts_store_code'),
    sa.UniqueConstraint('store_id', 'key', name='uq_marketing_discounts_store_key')
    )


def downgrade() -> None:
    op.drop_table('marketing_discounts')
    op.drop_index('ix_marketing_sends_customer', table_name='marketing_sends')
    op.drop_table('marketing_sends')
    op.drop_index('ix_marketing_enrollments_customer', table_name='marketing_enrollments')
    op.drop_index('ix_marketing_enrollments_wake_at', table_name='marketing_enrollments', postgresql_where=sa.text('wake_at IS NOT NULL'))
    op.drop_table('marketing_enrollments')
