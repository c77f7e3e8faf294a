"""Role bindings in memory."""

from __future__ import annotations

from datetime import datetime

from ...domain.principals import Authentication
from ...domain.roles import (
    RoleBinding,
    active_for,
    check_new_binding,
    revoked_binding,
    role_change,
)
from .audit import MemoryAudit


class MemoryRoles(MemoryAudit):
    """Role bindings by id (the reference for `SqlRoles`)."""

    def __init__(self) -> None:
        self._bindings: dict[str, RoleBinding] = {}

    def grant_role(self, binding: RoleBinding) -> RoleBinding:
        with self._audit_lock:
            check_new_binding(binding, self._bindings.values())
            self._bindings[binding.binding_id] = binding
            self._audit(
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
        with self._audit_lock:
            revoked = revoked_binding(
                self._bindings.get(binding_id), binding_id, actor=actor, at=at
            )
            self._bindings[binding_id] = revoked
            self._audit(
                "role.revoked",
                f"role:{binding_id}",
                actor=actor,
                at=at,
                change=role_change(revoked, auth),
            )
            return revoked

    def list_role_bindings(self) -> list[RoleBinding]:
        with self._audit_lock:
            return sorted(self._bindings.values(), key=lambda b: (b.granted_at, b.binding_id))

    def bindings_for(self, issuer: str, principal: str) -> list[RoleBinding]:
        return active_for(self.list_role_bindings(), issuer, principal)
