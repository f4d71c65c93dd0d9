"""outbox: pending events only, envelope as the JSON text sent

Delivered events are deleted (they held personal data past the retention window, 344.4(d)); see
`alpr_common.migrations.outbox_pending_only_upgrade`.

Revision ID: 7b32cad08e88
Revises: f2ca89a87245
Create Date: 2026-11-30 12:30:00.000000
"""

from collections.abc import Sequence

from alpr_common.migrations import outbox_pending_only_downgrade, outbox_pending_only_upgrade

revision: str = "7b32cad08e88"
down_revision: str | None = "f2ca89a87245"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_pending_only_upgrade()


def downgrade() -> None:
    outbox_pending_only_downgrade()
