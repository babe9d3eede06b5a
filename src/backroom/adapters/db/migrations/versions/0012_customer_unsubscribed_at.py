"""customers.unsubscribed_at: when backroom's own one-click link unsubscribed the customer, so that a platform
update still saying "subscribed" (its consent unchanged since) does not subscribe them again

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('customers', sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('customers', 'unsubscribed_at')
