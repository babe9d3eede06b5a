"""orders.delivered_at: when the order was recorded delivered, kept as it was (updated_at moves with any later change,
a refund or a tag, and the support agent's return window counted from it); filled from the shipment_delivered events

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('orders', sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE orders o SET delivered_at = d.at FROM ("
        " SELECT store_id, subject_id, min(at) AS at FROM events"
        " WHERE name = 'shipment_delivered' AND subject_type = 'order' GROUP BY store_id, subject_id) d"
        " WHERE o.store_id = d.store_id AND o.id = d.subject_id")


def downgrade() -> None:
    op.drop_column('orders', 'delivered_at')
