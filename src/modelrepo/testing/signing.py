"""The contracts every `Signer` passes (subclass with a `signer`): what it signs verifies
with the public key it names, as an auditor checks a checkpoint with no store at hand; and
every `StatementSigner` (subclass with a `statement_signer`)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..domain.attestations import SignatureInvalid, model_statement, read_bundle
from ..domain.manifest import FileEntry
from ..ports import Signer, StatementSigner
from ..signing import VersionSigner, public_key_pem, verify_envelope
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


class StatementSignerContract:
    """What a version signer makes is a bundle the stock model-signing verifier reads: the
    statement's bytes in a DSSE envelope, signed over its PAE by the key it names."""

    @pytest.fixture
    def statement_signer(self, *args: Any) -> StatementSigner:
        raise NotImplementedError

    def test_the_key_id_is_the_hash_of_the_public_key_pem(
        self, statement_signer: StatementSigner
    ) -> None:
        pem = statement_signer.public_pem
        assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
        assert public_key_pem(pem).encode() == pem  # already in the form its id is taken of
        assert statement_signer.key_id == hashlib.sha256(pem).hexdigest()

    def test_a_bundle_holds_the_statement_signed_by_the_named_key(
        self, statement_signer: StatementSigner
    ) -> None:
        files = (FileEntry("weights.bin", 3, "ab" * 32, False),)
        statement = model_statement("credit-risk", files)
        envelope = read_bundle(statement_signer.sign_statement(statement))
        assert envelope.key_id == statement_signer.key_id
        assert envelope.statement() == statement
        verify_envelope(envelope, statement_signer.public_pem.decode())  # raises if not
        forged = replace(envelope, payload=envelope.payload.replace(b"ab", b"ac", 1))
        with pytest.raises(SignatureInvalid, match="does not verify"):
            verify_envelope(forged, statement_signer.public_pem.decode())
        other = VersionSigner.generate().public_pem.decode()
        with pytest.raises(SignatureInvalid, match="does not verify"):
            verify_envelope(envelope, other)
