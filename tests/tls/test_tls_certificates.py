"""Certificates: minting for lessons, RFC 6125 host matching, expiry and trust via
cryptography's X.509 path validation."""

from __future__ import annotations

import datetime as dt

import pytest

from grader.manifests import parse_manifests
from grader.tls import load_pair, mint_ca, name_matches, self_signed, verify

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def ca():
    return mint_ca("course CA")


@pytest.mark.parametrize(("pattern", "host", "ok"), [
    # RFC 6125 §6.4.3: the wildcard is the whole left-most label and covers exactly one label
    ("shop.example.com", "shop.example.com", True),
    ("shop.example.com", "SHOP.example.com", True),
    ("*.example.com", "shop.example.com", True),
    ("*.example.com", "a.shop.example.com", False),
    ("*.example.com", "example.com", False),
    ("shop.example.com", "api.example.com", False),
])
def test_name_matching(pattern, host, ok):
    assert name_matches(pattern, host) is ok


def test_issued_certificate_is_trusted_by_its_ca_for_its_names(ca):
    pair = ca.issue(["shop.example.com", "*.shop.example.com"])
    chain = load_pair(pair.cert_pem.encode(), pair.key_pem.encode()).chain
    assert verify(chain, "shop.example.com", ca).trusted
    assert verify(chain, "api.shop.example.com", ca).trusted
    wrong = verify(chain, "api.example.com", ca)
    assert not wrong.trusted and "SAN mismatch" in wrong.reason


def test_other_ca_and_self_signed_are_not_trusted(ca):
    pair = ca.issue(["shop.example.com"])
    chain = load_pair(pair.cert_pem.encode(), pair.key_pem.encode()).chain
    assert not verify(chain, "shop.example.com", mint_ca("someone else")).trusted
    ss = self_signed(["shop.example.com"])
    ss_chain = load_pair(ss.cert_pem.encode(), ss.key_pem.encode()).chain
    result = verify(ss_chain, "shop.example.com", ca)
    assert not result.trusted and "not a CA the client trusts" in result.reason


def test_expiry_and_not_yet_valid(ca):
    expired = ca.issue(["shop.example.com"], not_before=NOW - dt.timedelta(days=30), not_after=NOW - dt.timedelta(days=1))
    chain = load_pair(expired.cert_pem.encode(), expired.key_pem.encode()).chain
    assert "expired" in verify(chain, "shop.example.com", ca).reason
    future = ca.issue(["shop.example.com"], days=30)
    chain = load_pair(future.cert_pem.encode(), future.key_pem.encode()).chain
    assert "expired" in verify(chain, "shop.example.com", ca, now=NOW + dt.timedelta(days=31)).reason


def test_key_must_match_certificate(ca):
    a, b = ca.issue(["a.example.com"]), ca.issue(["b.example.com"])
    assert load_pair(a.cert_pem.encode(), b.key_pem.encode()).problem == "tls.key does not match the certificate in tls.crt"
    assert "not a PEM certificate" in load_pair(b"garbage", a.key_pem.encode()).problem


def test_secret_manifest_is_a_valid_kubernetes_tls_secret(ca):
    pair = ca.issue(["shop.example.com"])
    [m] = parse_manifests(pair.secret("shop-tls", "shop"))
    assert m.obj.type == "kubernetes.io/tls"
    assert m.obj.get("tls.crt") == pair.cert_pem.encode()
