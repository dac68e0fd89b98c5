"""Certificates for lessons, and the checks a TLS client and an ingress controller make.

* Minting: a CA and server certificates signed by it (ECDSA P-256, SHA-256), as PEM, plus the
  ``kubernetes.io/tls`` Secret manifest that carries them (keys ``tls.crt``/``tls.key``,
  kubernetes.io "Secrets" → "TLS Secrets").
* Host coverage (RFC 6125 §6.4): only DNS subjectAltNames count (browsers and Go's crypto/tls
  ignore the subject CN); a wildcard is the whole left-most label and matches exactly one label
  (``*.example.com`` covers ``shop.example.com``, not ``a.shop.example.com`` nor ``example.com``).
* Trust: the chain is verified by ``cryptography``'s X.509 path validation
  (``cryptography.x509.verification``, a WebPKI server verifier) against the CA a client trusts,
  at a given time, for a given server name: signature, validity period, SAN match.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

UTC = dt.UTC


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(UTC)).astimezone(UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What a client sees of a certificate, in words."""

    subject: str
    issuer: str
    dns_names: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint: str
    """SHA-256 of the DER encoding, hex, first 16 characters."""
    self_signed: bool

    @classmethod
    def of(cls, cert: x509.Certificate) -> CertificateInfo:
        try:
            sans = tuple(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))
        except x509.ExtensionNotFound:
            sans = ()
        subject = _cn(cert.subject)
        issuer = _cn(cert.issuer)
        der = cert.public_bytes(serialization.Encoding.DER)
        return cls(subject, issuer, sans, cert.not_valid_before_utc, cert.not_valid_after_utc,
                   hashlib.sha256(der).hexdigest()[:16], cert.subject == cert.issuer)

    def render(self) -> str:
        sans = ", ".join(self.dns_names) or "none"
        return (f"CN={self.subject} SAN=[{sans}] issued by {self.issuer}"
                f" valid {self.not_before:%Y-%m-%d} to {self.not_after:%Y-%m-%d}")

    def covers(self, hostname: str) -> bool:
        return any(name_matches(pattern, hostname) for pattern in self.dns_names)

    def valid_at(self, now: dt.datetime | None = None) -> bool:
        t = _now(now)
        return self.not_before <= t <= self.not_after


def _cn(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else name.rfc4514_string()


def name_matches(pattern: str, hostname: str) -> bool:
    """RFC 6125 §6.4.3 as browsers apply it: exact (case-insensitive), or ``*.`` + one label."""
    pattern, hostname = pattern.lower().rstrip("."), hostname.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = hostname.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == hostname


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A certificate and its private key, as PEM text."""

    cert_pem: str
    key_pem: str

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())

    @property
    def info(self) -> CertificateInfo:
        return CertificateInfo.of(self.certificate)

    def secret(self, name: str, namespace: str = "default", *, chain: Sequence[KeyPair] = ()) -> dict[str, Any]:
        """The ``kubernetes.io/tls`` Secret manifest carrying this pair (``chain`` appended to tls.crt)."""
        crt = self.cert_pem + "".join(c.cert_pem for c in chain)
        return {
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"tls.crt": base64.b64encode(crt.encode()).decode(), "tls.key": base64.b64encode(self.key_pem.encode()).decode()},
        }


@dataclass(frozen=True, slots=True)
class CertificateAuthority(KeyPair):
    """A CA that lessons use to issue server certificates and that clients can be told to trust."""

    def issue(
        self, hosts: Sequence[str], *, common_name: str | None = None, days: int = 90,
        not_before: dt.datetime | None = None, not_after: dt.datetime | None = None, now: dt.datetime | None = None,
    ) -> KeyPair:
        """A server certificate for ``hosts`` (DNS names, ``*.`` wildcards allowed) signed by this CA."""
        if not hosts:
            raise ValueError("a server certificate needs at least one host name")
        ca_cert = self.certificate
        ca_key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        key = ec.generate_private_key(ec.SECP256R1())
        start = not_before or _now(now) - dt.timedelta(minutes=5)
        end = not_after or start + dt.timedelta(days=days)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or hosts[0])]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)  # type: ignore[arg-type]
        )
        cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
        return KeyPair(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))


def mint_ca(common_name: str = "netlab course CA", *, days: int = 365, now: dt.datetime | None = None) -> CertificateAuthority:
    """A fresh self-signed CA (a new key every call)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = _now(now) - dt.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))


def self_signed(hosts: Sequence[str], *, days: int = 90, now: dt.datetime | None = None) -> KeyPair:
    """A self-signed server certificate (what a client trusting only real CAs rejects)."""
    ca = mint_ca(hosts[0], days=days, now=now)
    return ca.issue(hosts, days=days, now=now)


@dataclass(frozen=True, slots=True)
class LoadedPair:
    """A Secret's certificate chain and key after parsing, or why it is unusable."""

    chain: tuple[x509.Certificate, ...]
    problem: str = ""

    @property
    def leaf(self) -> x509.Certificate | None:
        return self.chain[0] if self.chain else None

    @property
    def ok(self) -> bool:
        return not self.problem and bool(self.chain)


def load_pair(cert_pem: bytes | None, key_pem: bytes | None) -> LoadedPair:
    """Parse ``tls.crt``/``tls.key`` as an ingress controller does before serving them."""
    if not cert_pem:
        return LoadedPair((), "tls.crt is empty")
    if not key_pem:
        return LoadedPair((), "tls.key is empty")
    try:
        chain = tuple(x509.load_pem_x509_certificates(cert_pem))
    except ValueError:
        return LoadedPair((), "tls.crt is not a PEM certificate")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return LoadedPair(chain, "tls.key is not an unencrypted PEM private key")
    pub = chain[0].public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    mine = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if pub != mine:
        return LoadedPair(chain, "tls.key does not match the certificate in tls.crt")
    return LoadedPair(chain)


@dataclass(frozen=True, slots=True)
class Verification:
    trusted: bool
    reason: str


def verify(chain: Sequence[x509.Certificate], hostname: str, trust: CertificateAuthority | KeyPair | str | Sequence[Any], now: dt.datetime | None = None) -> Verification:
    """Would a client that trusts ``trust`` (a CA, PEM text, or several) accept ``chain`` for ``hostname``?"""
    anchors = _anchors(trust)
    leaf = chain[0]
    info = CertificateInfo.of(leaf)
    t = _now(now)
    # Give the learner the specific reason first; the path validation below is the authority.
    if t > info.not_after:
        return Verification(False, f"certificate expired on {info.not_after:%Y-%m-%d %H:%M} UTC")
    if t < info.not_before:
        return Verification(False, f"certificate is not valid before {info.not_before:%Y-%m-%d %H:%M} UTC")
    if not info.covers(hostname):
        return Verification(False, f"certificate is for {', '.join(info.dns_names) or 'no DNS names'}, not {hostname} (SAN mismatch)")
    try:
        verifier = PolicyBuilder().store(Store(anchors)).time(t).build_server_verifier(x509.DNSName(hostname))
        verifier.verify(leaf, list(chain[1:]))
    except VerificationError:
        issuers = ", ".join(CertificateInfo.of(a).subject for a in anchors)
        return Verification(False, f"issued by {info.issuer}, which is not a CA the client trusts ({issuers}): unknown authority")
    return Verification(True, f"chain verifies to {CertificateInfo.of(anchors[0]).subject if len(anchors) == 1 else 'a trusted CA'} and covers {hostname}")


def _anchors(trust: Any) -> list[x509.Certificate]:
    if isinstance(trust, KeyPair):
        return [trust.certificate]
    if isinstance(trust, x509.Certificate):
        return [trust]
    if isinstance(trust, (str, bytes)):
        data = trust.encode() if isinstance(trust, str) else trust
        return list(x509.load_pem_x509_certificates(data))
    out: list[x509.Certificate] = []
    for item in trust:
        out += _anchors(item)
    return out
