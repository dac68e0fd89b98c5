"""TLS for the course: mint a CA and server certificates, check what clients and controllers check."""

from .certificates import (
    CertificateAuthority,
    CertificateInfo,
    KeyPair,
    LoadedPair,
    Verification,
    load_pair,
    mint_ca,
    name_matches,
    self_signed,
    verify,
)

__all__ = [
    "CertificateAuthority", "CertificateInfo", "KeyPair", "LoadedPair", "Verification", "load_pair", "mint_ca",
    "name_matches", "self_signed", "verify",
]
