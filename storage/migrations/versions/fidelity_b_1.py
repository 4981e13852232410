"""enrollments: reasons for declined mandatory specialties; step-1 tests outside the catalogue

Revision ID: fidelity_b_1
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fidelity_b_1"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mandatory_declined_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("extra_tests", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("extra_tests_draft", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_column("extra_tests_draft")
        batch_op.drop_column("extra_tests")
        batch_op.drop_column("mandatory_declined_reasons")
