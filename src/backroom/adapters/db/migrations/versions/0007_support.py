"""support conversations and messages; orders found by number and by email

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('support_conversations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=False),
    sa.Column('customer_email', sa.Text(), nullable=True),
    sa.Column('state', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('last_intent', sa.String(length=64), nullable=True),
    sa.Column('messages', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'handed_over', 'closed')", name=op.f('ck_support_conversations_status_known')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_support_conversations_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_conversations')),
    sa.UniqueConstraint('store_id', 'channel', 'external_id', name='uq_support_conversations_store_channel_external')
    )
    op.create_index('ix_support_conversations_store_status', 'support_conversations', ['store_id', 'status', 'updated_at'], unique=False)
    op.create_table('support_messages',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.BigInteger(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('intents', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('confidence', sa.Numeric(precision=5, scale=4), nullable=True),
    sa.Column('actions', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('handover', sa.String(length=32), nullable=True),
    sa.Column('verified', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('citations', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('latency_ms', sa.Numeric(precision=10, scale=3), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_support_messages_direction_known')),
    sa.ForeignKeyConstraint(['conversation_id'], ['support_conversations.id'], name=op.f('fk_support_messages_conversation_id_support_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_support_messages_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_messages'))
    )
    op.create_index('ix_support_messages_conversation', 'support_messages', ['conversation_id', 'id'], unique=False)
    op.create_index('ix_orders_store_number', 'orders', ['store_id', 'number'], unique=False)
    op.create_index('ix_orders_store_email', 'orders', ['store_id', 'email', 'placed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_orders_store_email', table_name='orders')
    op.drop_index('ix_orders_store_number', table_name='orders')
    op.drop_index('ix_support_messages_conversation', table_name='support_messages')
    op.drop_table('support_messages')
    op.drop_index('ix_support_conversations_store_status', table_name='support_conversations')
    op.drop_table('support_conversations')
