"""Signed versions over HTTP. Signatures are checked here, against the keys the server
trusts, with the same code as the embedded registry; a key file signs here and never
leaves this process."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api.attestations import AttestationsAPI
from ..domain import attestations as att
from ..domain.errors import InvalidInput
from .client import API, ServerClient

if TYPE_CHECKING:
    from ..domain.model import ModelVersion


class Attestations(ServerClient, AttestationsAPI):
    if TYPE_CHECKING:

        def _readable(self, name: str, version: int) -> ModelVersion: ...

    def sign(
        self,
        name: str,
        version: int,
        *,
        key_file: str | os.PathLike[str] | None = None,
        key_password: bytes | None = None,
        reason: str | None = None,
    ) -> list[att.VersionSignature]:
        if key_file is None:
            found = self._post(f"{self._version_path(name, version)}/sign", {"reason": reason})
            return [att.VersionSignature.from_dict(s) for s in found]
        from ..signing import VersionSigner, signed_statements

        signer = VersionSigner.from_file(Path(key_file), key_password)
        version_found = self._readable(name, version)
        bundles = [bundle for _, bundle in signed_statements(signer, version_found)]
        return self.add_signatures(name, version, bundles, reason=reason)

    def add_signatures(
        self, name: str, version: int, bundles: Sequence[str], *, reason: str | None = None
    ) -> list[att.VersionSignature]:
        if not bundles:
            raise InvalidInput("give at least one signature bundle")
        body = {"bundles": list(bundles), "reason": reason}
        found = self._post(f"{self._version_path(name, version)}/signatures", body)
        return [att.VersionSignature.from_dict(s) for s in found]

    def signatures(self, name: str, version: int) -> list[att.VersionSignature]:
        found = self._get(f"{self._version_path(name, version)}/signatures")
        return [att.VersionSignature.from_dict(s) for s in found]

    def verify_signature(
        self, name: str, version: int, *, environment: str | None = None
    ) -> att.VersionSignature:
        from ..signing import check_version_signature

        found = self._readable(name, version)
        signatures = self.signatures(name, version)
        # An unsigned version (most downloads) is refused without asking for the keys.
        wanted = any(s.kind == att.MODEL for s in signatures)
        keys = self.signing_keys() if wanted else []
        accepted = None
        if environment is not None and wanted:
            accepted = att.required_signers(self.signing_policies(), environment)
        return check_version_signature(found, signatures, keys, accepted or frozenset())

    def provenance(self, name: str, version: int) -> dict[str, Any]:
        found: dict[str, Any] = self._get(f"{self._version_path(name, version)}/provenance")
        return found

    def signing_keys(self) -> list[att.SigningKey]:
        return [att.SigningKey.from_dict(k) for k in self._get(f"{API}/signing/keys")]

    def store_signing_key(self) -> att.SigningKey:
        return att.SigningKey.from_dict(self._post(f"{API}/signing/store-key"))

    def trust_signing_key(self, public_key: str, *, label: str) -> att.SigningKey:
        body = {"public_key": public_key, "label": label}
        return att.SigningKey.from_dict(self._post(f"{API}/signing/keys", body))

    def revoke_signing_key(self, key_id: str, *, reason: str) -> att.SigningKey:
        wanted = key_id.strip().lower()
        if not wanted or any(c not in "0123456789abcdef" for c in wanted):
            raise InvalidInput(f"invalid signing key id {key_id!r}")
        path = f"{API}/signing/keys/{wanted}/revoke"
        return att.SigningKey.from_dict(self._post(path, {"reason": reason}))

    def rotate_signing_key(self) -> att.SigningKey:
        return att.SigningKey.from_dict(self._post(f"{API}/signing/rotate"))

    def set_signing_policy(
        self, scope: str, name: str = "", *, enabled: bool, keys: Sequence[str] = ()
    ) -> att.SigningPolicy:
        scope, name = att.check_scope_name(scope, name)
        body = {"scope": scope, "name": name, "enabled": bool(enabled), "keys": list(keys)}
        found = self._request("PUT", f"{API}/signing/policies", body=body).json()
        return att.SigningPolicy.from_dict(found)

    def signing_policies(self) -> list[att.SigningPolicy]:
        return [att.SigningPolicy.from_dict(p) for p in self._get(f"{API}/signing/policies")]
