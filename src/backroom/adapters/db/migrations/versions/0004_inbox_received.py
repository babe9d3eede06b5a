"""inbox: deliveries recorded as 'received' and processed after the reply (attempts, next attempt, due index)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('inbox', sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('inbox', sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f('ck_inbox_status_known'), 'inbox', type_='check')
    op.create_check_constraint(op.f('ck_inbox_status_known'), 'inbox',
                               "status IN ('received', 'processed', 'rejected', 'failed')")
    op.create_index('ix_inbox_due', 'inbox', ['store_id', 'id'], unique=False,
                    postgresql_where=sa.text("status = 'received'"))


def downgrade() -> None:
    op.drop_index('ix_inbox_due', table_name='inbox', postgresql_where=sa.text("status = 'received'"))
    op.execute("UPDATE inbox SET status = 'failed', error = 'not processed before the downgrade'"
               " WHERE status = 'received'")
    op.drop_constraint(op.f('ck_inbox_status_known'), 'inbox', type_='check')
    op.create_check_constraint(op.f('ck_inbox_status_known'), 'inbox', "status IN ('processed', 'rejected', 'failed')")
    op.drop_column('inbox', 'next_attempt_at')
    op.drop_column('inbox', 'attempts')
