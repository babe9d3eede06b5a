"""what platforms report besides orders: refunds, checkouts, customers' consent, platform stock levels

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('customers', sa.Column('channel', sa.String(length=32), nullable=True))
    op.add_column('customers', sa.Column('external_id', sa.Text(), nullable=True))
    op.add_column('customers', sa.Column('marketing_consent', sa.String(length=16), server_default='unknown',
                                         nullable=False))
    op.add_column('customers', sa.Column('platform_updated_at', sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f('ck_customers_marketing_consent_known'), 'customers',
        "marketing_consent IN ('subscribed', 'not_subscribed', 'unsubscribed', 'pending', 'unknown')")
    op.create_index('uq_customers_store_channel_external', 'customers', ['store_id', 'channel', 'external_id'],
                    unique=True, postgresql_where=sa.text('external_id IS NOT NULL'))

    op.create_table('order_refunds',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('refund_id', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('lines', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('restocked', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_order_refunds_amount_not_negative')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_refunds_order_id_orders'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_order_refunds_store_id_stores'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_refunds')),
    sa.UniqueConstraint('store_id', 'channel', 'refund_id', name='uq_order_refunds_store_channel_refund')
    )
    op.create_index(op.f('ix_order_refunds_order_id'), 'order_refunds', ['order_id'])

    op.create_table('checkouts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=False),
    sa.Column('token', sa.Text(), server_default='', nullable=False),
    sa.Column('email', sa.Text(), server_default='', nullable=False),
    sa.Column('customer_name', sa.Text(), server_default='', nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('lines', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('recovery_url', sa.Text(), server_default='', nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('platform_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_checkouts_order_id_orders'),
                            ondelete='SET NULL', deferrable=True, initially='DEFERRED'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_checkouts_store_id_stores'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkouts')),
    sa.UniqueConstraint('store_id', 'channel', 'external_id', name='uq_checkouts_store_channel_external')
    )
    op.create_index('ix_checkouts_store_token', 'checkouts', ['store_id', 'channel', 'token'])
    op.create_index('ix_checkouts_open_by_email', 'checkouts', ['store_id', 'channel', 'email'],
                    postgresql_where=sa.text('completed_at IS NULL AND deleted_at IS NULL'))

    op.create_table('platform_items',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Text(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_platform_items_store_id_stores'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', 'channel', 'item_id', name=op.f('pk_platform_items'))
    )

    op.create_table('platform_stock',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Text(), nullable=False),
    sa.Column('location_id', sa.Text(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=True),
    sa.Column('available', sa.Integer(), nullable=True),
    sa.Column('backroom_available', sa.Integer(), nullable=True),
    sa.Column('difference', sa.Integer(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_platform_stock_store_id_stores'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', 'channel', 'item_id', 'location_id', name=op.f('pk_platform_stock'))
    )
    op.create_index('ix_platform_stock_store_sku', 'platform_stock', ['store_id', 'channel', 'sku'])


def downgrade() -> None:
    op.drop_table('platform_stock')
    op.drop_table('platform_items')
    op.drop_table('checkouts')
    op.drop_table('order_refunds')
    op.drop_index('uq_customers_store_channel_external', table_name='customers')
    op.drop_constraint(op.f('ck_customers_marketing_consent_known'), 'customers', type_='check')
    op.drop_column('customers', 'platform_updated_at')
    op.drop_column('customers', 'marketing_consent')
    op.drop_column('customers', 'external_id')
    op.drop_column('customers', 'channel')
