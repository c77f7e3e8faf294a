"""Role bindings in SQL: granting and revoking are audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domain.principals import Authentication, auth_from_text, auth_text
from ...domain.roles import (
    RoleBinding,
    active_for,
    check_new_binding,
    revoked_binding,
    role_change,
)
from ...domain.times import from_micros, to_micros
from .audit import SqlAudit
from .raw import Q


class SqlRoles(SqlAudit):
    """The role-binding half of `SqlMetadataStore` (mixed into it)."""

    def grant_role(self, binding: RoleBinding) -> RoleBinding:
        with self._raw.write() as tx:
            clashes = tx.all(
                Q.ROLE_BINDING_CLASHES,
                binding_id=binding.binding_id,
                principal=binding.principal,
                issuer=binding.issuer,
            )
            check_new_binding(binding, [_to_binding(r) for r in clashes])
            tx.execute(
                Q.NEW_ROLE_BINDING,
                binding_id=binding.binding_id,
                issuer=binding.issuer,
                principal=binding.principal,
                role=binding.role,
                model_pattern=binding.model_pattern,
                granted_at=to_micros(binding.granted_at),
                granted_by=binding.granted_by,
                granted_auth=auth_text(binding.granted_auth),
            )
            self._audit(
                tx,
                "role.granted",
                f"role:{binding.binding_id}",
                actor=binding.granted_by,
                at=binding.granted_at,
                change=role_change(binding, binding.granted_auth),
            )
        return binding

    def revoke_role(
        self, binding_id: str, *, actor: str, at: datetime, auth: Authentication | None
    ) -> RoleBinding:
        with self._raw.write() as tx:
            row = tx.one(Q.ROLE_BINDING_BY_ID, binding_id=binding_id)
            found = None if row is None else _to_binding(row)
            revoked = revoked_binding(found, binding_id, actor=actor, at=at)
            tx.execute(Q.REVOKE_ROLE_BINDING, binding_id=binding_id, at=to_micros(at), actor=actor)
            self._audit(
                tx,
                "role.revoked",
                f"role:{binding_id}",
                actor=actor,
                at=at,
                change=role_change(revoked, auth),
            )
        return revoked

    def list_role_bindings(self) -> list[RoleBinding]:
        return [_to_binding(r) for r in self._raw.reader().all(Q.ROLE_BINDINGS)]

    def bindings_for(self, issuer: str, principal: str) -> list[RoleBinding]:
        rows = self._raw.reader().all(Q.ROLE_BINDINGS_OF, principal=principal, issuer=issuer)
        return active_for((_to_binding(r) for r in rows), issuer, principal)


def _to_binding(row: Any) -> RoleBinding:
    return RoleBinding(
        binding_id=row.binding_id,
        issuer=row.issuer,
        principal=row.principal,
        role=row.role,
        model_pattern=row.model_pattern,
        granted_at=from_micros(row.granted_at),
        granted_by=row.granted_by,
        granted_auth=auth_from_text(row.granted_auth),
        revoked_at=None if row.revoked_at is None else from_micros(row.revoked_at),
        revoked_by=row.revoked_by,
    )
