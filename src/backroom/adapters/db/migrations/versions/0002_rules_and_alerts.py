"""rules, rule versions, alert state; order notes/priority; event contexts; low-stock thresholds; alert indexes

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('stores', sa.Column('rules_revision', sa.Integer(), server_default='0', nullable=False))
    op.add_column('orders', sa.Column('notes', postgresql.JSONB(), server_default='[]', nullable=False))
    op.add_column('orders', sa.Column('priority', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_orders_store_customer', 'orders', ['store_id', 'customer_id'])
    op.add_column('variants', sa.Column('low_stock_threshold', sa.Integer(), nullable=True))
    op.add_column('events', sa.Column('context', postgresql.JSON(), nullable=True))
    op.create_index('ix_events_store_at', 'events', ['store_id', 'at'])
    op.create_index('ix_decisions_store_policy_at', 'decisions', ['store_id', 'policy', 'at'])
    op.create_index('ix_inbox_store_received', 'inbox', ['store_id', 'received_at'])
    op.create_index('ix_effects_store_created', 'effects', ['store_id', 'created_at'])
    op.create_table('rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("mode IN ('live', 'shadow', 'off')", name=op.f('ck_rules_mode_known')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_rules_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rules')),
    sa.UniqueConstraint('store_id', 'name', name='uq_rules_store_name')
    )
    op.create_table('rule_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', postgresql.JSONB(), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['rules.id'], name=op.f('fk_rule_versions_rule_id_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_versions')),
    sa.UniqueConstraint('rule_id', 'version', name='uq_rule_versions_rule_version')
    )
    op.create_table('alert_state',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('alert', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('open', sa.Boolean(), nullable=False),
    sa.Column('detail', postgresql.JSONB(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_alert_state_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('store_id', 'alert', 'subject', name=op.f('pk_alert_state'))
    )


def downgrade() -> None:
    op.drop_table('alert_state')
    op.drop_table('rule_versions')
    op.drop_table('rules')
    op.drop_index('ix_effects_store_created', table_name='effects')
    op.drop_index('ix_inbox_store_received', table_name='inbox')
    op.drop_index('ix_decisions_store_policy_at', table_name='decisions')
    op.drop_index('ix_events_store_at', table_name='events')
    op.drop_column('events', 'context')
    op.drop_column('variants', 'low_stock_threshold')
    op.drop_index('ix_orders_store_customer', table_name='orders')
    op.drop_column('orders', 'priority')
    op.drop_column('orders', 'notes')
    op.drop_column('stores', 'rules_revision')
