"""replenishment: suppliers, purchase orders, plan lines

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_lines',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('line', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('stockout_expected', sa.Boolean(), server_default='false', nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_plan_lines_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', 'sku', name=op.f('pk_plan_lines'))
    )
    op.create_table('suppliers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('lead_time_days', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('lead_time_sd_days', sa.Numeric(precision=8, scale=2), server_default='0', nullable=False),
    sa.Column('moq', sa.Integer(), server_default='1', nullable=False),
    sa.Column('pack_multiple', sa.Integer(), server_default='1', nullable=False),
    sa.Column('order_days', postgresql.ARRAY(sa.Integer()), server_default='{}', nullable=False),
    sa.Column('order_cycle_days', sa.Numeric(precision=8, scale=2), server_default='14', nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('lead_time_days > 0 AND lead_time_sd_days >= 0', name=op.f('ck_suppliers_lead_time_positive')),
    sa.CheckConstraint('moq >= 1 AND pack_multiple >= 1', name=op.f('ck_suppliers_moq_multiple_positive')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_suppliers_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
    sa.UniqueConstraint('store_id', 'code', name='uq_suppliers_store_code')
    )
    op.create_table('purchase_orders',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('cycle', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('approved_by', sa.Text(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expected_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'ordered', 'partially_received', 'received', 'cancelled')", name=op.f('ck_purchase_orders_status_known')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_purchase_orders_store_id_stores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_purchase_orders_supplier_id_suppliers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_orders')),
    sa.UniqueConstraint('store_id', 'number', name='uq_purchase_orders_store_number'),
    sa.UniqueConstraint('store_id', 'supplier_id', 'cycle', name='uq_purchase_orders_store_supplier_cycle')
    )
    op.create_index('ix_purchase_orders_store_status', 'purchase_orders', ['store_id', 'status'], unique=False)
    op.create_table('supplier_items',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('supplier_sku', sa.Text(), nullable=True),
    sa.Column('moq', sa.Integer(), nullable=True),
    sa.Column('pack_multiple', sa.Integer(), nullable=True),
    sa.Column('lead_time_days', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('unit_cost >= 0', name=op.f('ck_supplier_items_unit_cost_not_negative')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_supplier_items_store_id_stores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_supplier_items_supplier_id_suppliers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', 'sku', name=op.f('pk_supplier_items'))
    )
    op.create_index(op.f('ix_supplier_items_supplier_id'), 'supplier_items', ['supplier_id'], unique=False)
    op.create_table('purchase_order_lines',
    sa.Column('po_id', sa.BigInteger(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), server_default='0', nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('supplier_sku', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_purchase_order_lines_quantity_positive')),
    sa.CheckConstraint('received >= 0', name=op.f('ck_purchase_order_lines_received_not_negative')),
    sa.ForeignKeyConstraint(['po_id'], ['purchase_orders.id'], name=op.f('fk_purchase_order_lines_po_id_purchase_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('po_id', 'sku', name=op.f('pk_purchase_order_lines'))
    )


def downgrade() -> None:
    op.drop_table('purchase_order_lines')
    op.drop_index(op.f('ix_supplier_items_supplier_id'), table_name='supplier_items')
    op.drop_table('supplier_items')
    op.drop_index('ix_purchase_orders_store_status', table_name='purchase_orders')
    op.drop_table('purchase_orders')
    op.drop_table('suppliers')
    op.drop_table('plan_lines')
