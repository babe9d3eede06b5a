"""email suppressions: addresses that hard-bounced (from the SMTP reply or a DSN), which marketing never mails

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('email_suppressions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('smtp', 'dsn', 'operator')", name=op.f('ck_email_suppressions_source_known')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_email_suppressions_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_suppressions')),
    sa.UniqueConstraint('store_id', 'email', name='uq_email_suppressions_store_email')
    )


def downgrade() -> None:
    op.drop_table('email_suppressions')
