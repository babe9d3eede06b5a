"""order returns: return authorisations the support agent (or a person) starts for delivered orders

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_returns',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='requested', nullable=False),
    sa.Column('lines', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('requested', 'received', 'refunded', 'rejected')", name=op.f('ck_order_returns_status_known')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_returns_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_order_returns_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_returns')),
    sa.UniqueConstraint('store_id', 'number', name='uq_order_returns_store_number')
    )
    op.create_index(op.f('ix_order_returns_order_id'), 'order_returns', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_order_returns_order_id'), table_name='order_returns')
    op.drop_table('order_returns')
