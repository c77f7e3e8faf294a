"""The contract every `Signer` passes (subclass with a `signer`): what it signs verifies
with the public key it names, as an auditor checks a checkpoint with no store at hand."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..ports import Signer
from ..verifier import key_id, load_public_key


class SignerContract:
    @pytest.fixture
    def signer(self, *args: Any) -> Signer:
        raise NotImplementedError

    def test_the_key_id_names_the_public_key(self, signer: Signer) -> None:
        public = load_public_key(signer.public_pem)
        assert signer.key_id == key_id(public.public_bytes(Encoding.Raw, PublicFormat.Raw))
        assert signer.public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")

    def test_signatures_verify_with_the_public_key_only_for_what_was_signed(
        self, signer: Signer
    ) -> None:
        public = load_public_key(signer.public_pem)
        body = b'{"size":3,"root":"ab"}'
        signature = signer.sign(body)
        public.verify(signature, body)  # raises if it does not verify
        with pytest.raises(InvalidSignature):
            public.verify(signature, body + b" ")
        public.verify(signer.sign(b""), b"")
