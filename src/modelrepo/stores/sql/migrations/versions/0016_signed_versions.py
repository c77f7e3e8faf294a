"""Signed versions: the keys that sign versions, and when each version is signed.

A version's signatures themselves are version events (kind `signed`, the Sigstore bundle as
the value), so they are append-only and follow the version through a rename like its tags.
`signing_keys` lists the public keys trusted to sign versions, by the SHA-256 of their PEM
(the key hint of a model-signing bundle); revoking is the one change. `signing_policies` says
where versions are signed at registration (the whole store, or one model) and which
environments deploy only signed versions (by any trusted key, or by one of `key_ids`).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("public_pem", sa.Text, nullable=False),
        sa.Column("label", sa.String(256), nullable=False),
        sa.Column("added_at", sa.BigInteger, nullable=False),
        sa.Column("added_by", sa.String(256), nullable=False),
        sa.Column("added_auth", sa.Text, nullable=True),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
        sa.Column("revoked_by", sa.String(256), nullable=True),
        sa.Column("revoked_reason", sa.Text, nullable=True),
    )
    op.create_table(
        "signing_policies",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("set_at", sa.BigInteger, nullable=False),
        sa.Column("set_by", sa.String(256), nullable=False),
        sa.Column("set_auth", sa.Text, nullable=True),
        sa.Column("key_ids", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("signing_policies")
    op.drop_table("signing_keys")
