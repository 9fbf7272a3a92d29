"""Rekor v1 in process: an RFC 6962 Merkle log of `hashedrekord` and `dsse` (0.0.1) entries.

Each accepted entry is answered the way Rekor v1 answers `POST /api/v1/log/entries`: the canonicalized
body (RFC 8785 JSON, as Rekor's `types.CanonicalizeEntry` produces), integratedTime, logID (SHA-256 of
the log's public key), logIndex, a signedEntryTimestamp (ECDSA over the canonical JSON of
body/integratedTime/logID/logIndex) and an inclusion proof with a signed checkpoint (a "signed note").
Like Rekor, the log verifies each proposed signature against the proposed key or certificate before
accepting it, and refuses a duplicate with 409.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from tests.sandbox.sigstore._pki import key_id

# The name in checkpoints; Rekor uses its hostname (e.g. rekor.sigstore.dev).
CHECKPOINT_NAME = "rekor.sandbox.publish-action.invalid"


class RekorError(Exception):
    """A refused entry: HTTP status and Rekor's `{"code", "message"}` error body."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the status for the HTTP layer."""
        super().__init__(message)
        self.status = status
        self.message = message


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (RFC 6962 2.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node_hash(_root(leaves[:k]), _root(leaves[k:]))


def _path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 2.1.1 audit path, leaf level first (the order sigstore-python chains in)."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*_path(index, leaves[:k]), _root(leaves[k:])]
    return [*_path(index - k, leaves[k:]), _root(leaves[:k])]


def _load_verifier_pem(b64_pem: str) -> tuple[ec.EllipticCurvePublicKey, str]:
    """A base64 PEM certificate or public key → (key, base64 of its canonical PEM) as Rekor stores it."""
    try:
        pem = base64.b64decode(b64_pem, validate=True)
        if b"CERTIFICATE" in pem:
            cert = x509.load_pem_x509_certificate(pem)
            key = cert.public_key()
            canonical = cert.public_bytes(serialization.Encoding.PEM)
        else:
            key = serialization.load_pem_public_key(pem)  # type: ignore[assignment]
            canonical = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    except ValueError as exc:
        raise RekorError(400, f"invalid public key or certificate: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        # Rekor accepts more key types; the sandbox serves ECDSA signers (all sigstore-python makes).
        raise RekorError(400, "only ECDSA verifiers are supported by the sandbox")
    return key, base64.b64encode(canonical).decode()


def _pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def _canonical_hashedrekord(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        signature_b64 = spec["signature"]["content"]
        verifier_b64 = spec["signature"]["publicKey"]["content"]
        algorithm = spec["data"]["hash"]["algorithm"]
        digest_hex = spec["data"]["hash"]["value"]
    except (KeyError, TypeError) as exc:
        raise RekorError(400, f"invalid hashedrekord entry: missing {exc}") from exc
    if algorithm != "sha256":
        raise RekorError(400, f"unsupported hash algorithm {algorithm!r}")
    key, canonical_verifier = _load_verifier_pem(verifier_b64)
    try:
        key.verify(
            base64.b64decode(signature_b64), bytes.fromhex(digest_hex), ec.ECDSA(utils.Prehashed(hashes.SHA256()))
        )
    except (InvalidSignature, ValueError) as exc:
        raise RekorError(400, "verifying signature: invalid signature when validating ASN.1 encoded signature") from exc
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": algorithm, "value": digest_hex}},
            "signature": {"content": signature_b64, "publicKey": {"content": canonical_verifier}},
        },
    }


def _canonical_dsse(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        proposed = spec["proposedContent"]
        raw_envelope: str = proposed["envelope"]
        verifiers: list[str] = proposed["verifiers"]
        envelope = json.loads(raw_envelope)
        payload = base64.b64decode(envelope["payload"])
        payload_type: str = envelope["payloadType"]
        signatures: list[dict[str, str]] = envelope["signatures"]
    except (KeyError, TypeError, ValueError) as exc:
        raise RekorError(400, f"invalid dsse entry: {exc}") from exc
    if not signatures:
        raise RekorError(400, "DSSE envelope must contain 1 or more signatures")
    keys = [_load_verifier_pem(v) for v in verifiers]
    pae = _pae(payload_type, payload)
    matched: dict[str, str] = {}
    for signature in signatures:
        sig_b64 = signature["sig"]
        for key, canonical in keys:
            try:
                key.verify(base64.b64decode(sig_b64), pae, ec.ECDSA(hashes.SHA256()))
            except (InvalidSignature, ValueError):
                continue
            matched[sig_b64] = canonical
            break
        else:
            raise RekorError(400, "could not verify envelope signature with any of the supplied verifiers")
    return {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(raw_envelope.encode()).hexdigest()},
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [{"signature": sig, "verifier": matched[sig]} for sig in sorted(matched)],
        },
    }


@dataclass(frozen=True)
class _Entry:
    uuid: str
    body: bytes
    integrated_time: int
    log_index: int


class RekorLog:
    """The transparency log: append, prove inclusion, sign checkpoints and entry timestamps."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, tree_id: int = 1193050959916656506) -> None:
        """Sign with `key`; `tree_id` only shows up in the checkpoint origin and entry UUIDs."""
        self._key = key
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self._leaves: list[bytes] = []
        self._by_leaf: dict[bytes, int] = {}
        self.tree_id = tree_id
        self.log_id = key_id(key.public_key())

    def __len__(self) -> int:
        """Number of entries integrated so far."""
        return len(self._entries)

    def add(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """Validate and integrate a proposed entry; return Rekor's `{uuid: LogEntry}` response."""
        if not isinstance(proposed, dict) or proposed.get("apiVersion") != "0.0.1":
            raise RekorError(400, "unsupported apiVersion (the sandbox serves 0.0.1 entries only)")
        kind = proposed.get("kind")
        spec = proposed.get("spec")
        if not isinstance(spec, dict):
            raise RekorError(400, "missing spec")
        if kind == "hashedrekord":
            canonical = _canonical_hashedrekord(spec)
        elif kind == "dsse":
            canonical = _canonical_dsse(spec)
        else:
            raise RekorError(400, f"unsupported entry kind {kind!r}")
        body = rfc8785.dumps(canonical)
        leaf = _leaf_hash(body)
        with self._lock:
            if leaf in self._by_leaf:
                existing = self._entries[self._by_leaf[leaf]]
                raise RekorError(
                    409, f"an equivalent entry already exists in the transparency log with UUID {existing.uuid}"
                )
            entry = _Entry(
                uuid=f"{self.tree_id:016x}{leaf.hex()}",
                body=body,
                integrated_time=int(time.time()),
                log_index=len(self._entries),
            )
            self._entries.append(entry)
            self._leaves.append(leaf)
            self._by_leaf[leaf] = entry.log_index
            return self._render(entry)

    def get(self, *, uuid: str | None = None, log_index: int | None = None) -> dict[str, Any]:
        """An entry by UUID (with or without the tree ID prefix) or by index, with a fresh proof."""
        with self._lock:
            for entry in self._entries:
                if (uuid is not None and uuid in (entry.uuid, entry.uuid[16:])) or entry.log_index == log_index:
                    return self._render(entry)
        raise RekorError(404, "entry not found")

    def info(self) -> dict[str, Any]:
        """`GET /api/v1/log`: tree size, root hash and signed tree head."""
        with self._lock:
            size = len(self._leaves)
            root = _root(self._leaves) if size else hashlib.sha256(b"").digest()
            return {
                "rootHash": root.hex(),
                "treeSize": size,
                "signedTreeHead": self._checkpoint(size, root),
                "treeID": str(self.tree_id),
            }

    def public_key_pem(self) -> bytes:
        """`GET /api/v1/log/publicKey`."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def _checkpoint(self, size: int, root: bytes) -> str:
        """A signed note: origin, size, base64 root; signed by the log key with a 4-byte key hint."""
        note = f"{CHECKPOINT_NAME} - {self.tree_id}\n{size}\n{base64.b64encode(root).decode()}\n"
        signature = self._key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        return f"{note}\n\u2014 {CHECKPOINT_NAME} {base64.b64encode(self.log_id[:4] + signature).decode()}\n"

    def _render(self, entry: _Entry) -> dict[str, Any]:
        """Caller holds the lock. The proof is against the current tree, as Rekor's GET/POST are."""
        size = len(self._leaves)
        root = _root(self._leaves)
        body_b64 = base64.b64encode(entry.body).decode()
        promise = rfc8785.dumps(
            {
                "body": body_b64,
                "integratedTime": entry.integrated_time,
                "logID": self.log_id.hex(),
                "logIndex": entry.log_index,
            }
        )
        set_signature = self._key.sign(promise, ec.ECDSA(hashes.SHA256()))
        return {
            entry.uuid: {
                "body": body_b64,
                "integratedTime": entry.integrated_time,
                "logID": self.log_id.hex(),
                "logIndex": entry.log_index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": self._checkpoint(size, root),
                        "hashes": [h.hex() for h in _path(entry.log_index, self._leaves)],
                        "logIndex": entry.log_index,
                        "rootHash": root.hex(),
                        "treeSize": size,
                    },
                    "signedEntryTimestamp": base64.b64encode(set_signature).decode(),
                },
            }
        }
