"""marketing: an index that serves take_due's order (store, wake_at, id) — 100,000 enrollments waking at one instant
were sorted whole for every batch of 200 (bench/flows_scale.py)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_marketing_enrollments_due', 'marketing_enrollments', ['store_id', 'wake_at', 'id'],
                    unique=False, postgresql_where=sa.text('wake_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_marketing_enrollments_due', table_name='marketing_enrollments',
                  postgresql_where=sa.text('wake_at IS NOT NULL'))
