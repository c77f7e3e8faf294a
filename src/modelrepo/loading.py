"""`load` and `load_live`, written once for the embedded and the remote registry: each
gives a readable version, a verified local folder of its files, and its own way of recording
trust in a pickle."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .api.serving import ServingAPI
from .handles import ModelHandle

if TYPE_CHECKING:
    from .api.attestations import AttestationsAPI
    from .domain.attestations import SigningPolicy, VersionSignature
    from .domain.model import ModelVersion, VersionEvent


class Loading(ServingAPI):
    """A registry's loading, over the hooks each registry gives."""

    if TYPE_CHECKING:

        def _readable(self, name: str, version: int) -> ModelVersion: ...

        def events(self, name: str, version: int) -> list[VersionEvent]: ...

        def _materialise(self, version: ModelVersion) -> Path: ...

        def _record_pickle_trust(self, found: ModelVersion) -> None: ...

        def resolve(self, ref: str) -> tuple[str, int]: ...

        def verify_signature(
            self, name: str, version: int, *, environment: str | None = None
        ) -> VersionSignature: ...

        def signing_policies(self) -> list[SigningPolicy]: ...

        def serving_start(
            self, name: str, *, env: str, instance_id: str, host: str, version: int, digest: str
        ) -> None: ...

    def load(
        self,
        name: str,
        version: int,
        *,
        trust_pickle: bool = False,
        trusted_types: Sequence[str] = (),
        module: Any = None,
        environment: str | None = None,
        verify_signature: bool = False,
    ) -> ModelHandle:
        from .domain.attestations import requires_signature
        from .domain.trust import check_trusted_types, trusted_of
        from .flavors import LoadOptions, loader_for, reads_trust

        found = self._readable(name, version)
        if verify_signature or (
            environment is not None and requires_signature(self.signing_policies(), environment)
        ):
            self.verify_signature(found.model, found.version, environment=environment)
        loader = loader_for(found.flavor)
        extra = check_trusted_types(trusted_types)
        # The types trusted with the version, read from its record; a caller may add more.
        recorded = trusted_of(self.events(found.model, found.version)) if reads_trust(
            found.flavor
        ) else ()  # fmt: skip
        folder = self._materialise(found)
        if found.flavor == "pickle" and trust_pickle:
            self._record_pickle_trust(found)
        predictor = loader(
            folder,
            LoadOptions(
                trust_pickle=trust_pickle,
                trusted_types=tuple(dict.fromkeys((*recorded, *extra))),
                module=module,
            ),
        )
        return ModelHandle(
            self,  # type: ignore[arg-type]  # mixed into a whole registry
            found.model, found.version, found.digest, found.flavor, folder, predictor,
            environment,
        )  # fmt: skip

    def load_live(
        self, name: str, *, env: str, instance_id: str | None = None, **options: Any
    ) -> ModelHandle:
        import socket
        import uuid

        model, version = self.resolve(f"{name}@{env}")
        handle = self.load(model, version, environment=env, **options)
        handle.instance_id = instance_id or f"{socket.gethostname()}-{uuid.uuid4().hex[:12]}"
        handle.host = socket.gethostname()
        self.serving_start(
            model,
            env=env,
            instance_id=handle.instance_id,
            host=handle.host,
            version=version,
            digest=handle.digest,
        )
        return handle


def signature_files(
    reg: AttestationsAPI, found: ModelVersion, *, required: bool
) -> dict[str, bytes]:
    """The model signature to write beside a downloaded version (where the stock
    `model_signing` verifier looks), if it has one that counts; `required`: refuse without."""
    from .domain.attestations import SignatureInvalid, signature_file_name

    try:
        signature = reg.verify_signature(found.model, found.version)
    except SignatureInvalid:
        if required:
            raise
        return {}
    return {signature_file_name(found.files): signature.bundle.encode()}


def signed_provenance(reg: AttestationsAPI, found: ModelVersion) -> VersionSignature:
    """The newest signed provenance of `found` by a trusted, unrevoked key that verifies and
    states exactly its recorded lineage; `SignatureInvalid` naming why when none does.
    Checked here, against the keys the registry trusts, as downloads check model signatures."""
    from .domain.attestations import PROVENANCE
    from .signing import check_version_signature

    signatures = reg.signatures(found.model, found.version)
    return check_version_signature(found, signatures, reg.signing_keys(), kind=PROVENANCE)
