"""TLS for the course: mint a CA and server certificates, check what clients and controllers check.

The names below are loaded on first use: ``cryptography`` takes about a tenth of a second to
import, and most notebooks never touch a certificate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import certificates

        return getattr(certificates, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
