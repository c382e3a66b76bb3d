"""Campaign results: sales, a dial's disposition, a campaign call's list entry

- sales: one per interaction (amount in the customer's currency, integer minor units; the
  campaign, dial and agent that sold it), read by the results reports and the RFM update.
- dial_attempts.disposition: the wrap-up disposition of a connected dial.
- interactions.lead_id: a campaign call's list entry, settled by its wrap-up.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
# The lead rebases this: "0016" (the dialer's migration) once it is merged. It was not on
# main when this was written, and naming it here would break the chain on this branch.
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, table: str, referred: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{referred}.id"],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "sales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("dial_attempt_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=False),
        _fk("customer_id", "sales", "customers", "CASCADE"),
        _fk("interaction_id", "sales", "interactions", "SET NULL"),
        _fk("campaign_id", "sales", "campaigns", "SET NULL"),
        _fk("dial_attempt_id", "sales", "dial_attempts", "SET NULL"),
        _fk("agent_id", "sales", "agents", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales")),
        sa.UniqueConstraint("interaction_id", name=op.f("uq_sales_interaction_id")),
    )
    op.create_index("ix_sales_customer_sold", "sales", ["customer_id", "sold_at"])
    op.create_index("ix_sales_campaign_sold", "sales", ["campaign_id", "sold_at"])
    op.create_index("ix_sales_dial_attempt_id", "sales", ["dial_attempt_id"])
    with op.batch_alter_table("dial_attempts") as batch:
        batch.add_column(
            sa.Column("disposition", sa.String(length=40), nullable=False, server_default="")
        )
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("lead_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_interactions_lead_id_campaign_leads"),
            "campaign_leads",
            ["lead_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_constraint(op.f("fk_interactions_lead_id_campaign_leads"), type_="foreignkey")
        batch.drop_column("lead_id")
    with op.batch_alter_table("dial_attempts") as batch:
        batch.drop_column("disposition")
    op.drop_index("ix_sales_dial_attempt_id", table_name="sales")
    op.drop_index("ix_sales_campaign_sold", table_name="sales")
    op.drop_index("ix_sales_customer_sold", table_name="sales")
    op.drop_table("sales")
