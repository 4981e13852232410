"""wechat: the shared access_token and each follower's reply windows

Revision ID: wechat_1
Revises: fidelity_b_1 (chained at the merge of main; written against 0001)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "wechat_1"
down_revision: str | None = "fidelity_b_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wechat_tokens",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("expires_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_wechat_tokens")),
    )
    op.create_table(
        "wechat_peers",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("following", sa.Boolean(), nullable=False),
        sa.Column("message_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_used", sa.Integer(), nullable=False),
        sa.Column("event_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("event_used", sa.Integer(), nullable=False),
        sa.Column("menu", sa.JSON(), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_wechat_peers")),
    )


def downgrade() -> None:
    op.drop_table("wechat_peers")
    op.drop_table("wechat_tokens")
