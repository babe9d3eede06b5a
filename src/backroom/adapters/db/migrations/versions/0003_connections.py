"""store connections (Shopify shops, WooCommerce sites) and their reconciliation cursors

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('account', sa.Text(), nullable=False),
    sa.Column('callback_url', sa.Text(), nullable=False),
    sa.Column('reconcile_cursor', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_polled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_poll', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('numbers_seen', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("platform IN ('shopify', 'woocommerce')", name=op.f('ck_connections_platform_known')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_connections_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections')),
    sa.UniqueConstraint('platform', 'account', name='uq_connections_platform_account')
    )


def downgrade() -> None:
    op.drop_table('connections')
