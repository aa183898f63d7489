"""The TLS certificate of the relay and the inbound listener: the operator's
(AUTORELAY_SMTP_RELAY_CERT and _KEY), or else one made in the data dir by a small CA of its own.

A client trusts it the documented way: `smtp-relay-ca.pem` as its CA file (Django through
SSL_CERT_FILE, nodemailer's `tls.ca`, swaks' `--tls-ca-path`, Postfix's `smtp_tls_CAfile`), and the
host name or address it connects to is in the certificate: DNS names for the public host name and
`localhost`, IP addresses for the listen address and loopback, and whatever
AUTORELAY_SMTP_RELAY_TLS_NAMES adds. `serve` prints the certificate's SHA-256 fingerprint for
clients that pin instead. The certificate is made again when the names it should carry change."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import os
import ssl
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger("autorelay.smtp_relay")

CERT, KEY, CA = "smtp-relay-cert.pem", "smtp-relay-key.pem", "smtp-relay-ca.pem"
_VALID = datetime.timedelta(days=3650)


def wanted_names(hostname: str, listen_host: str, extra: Iterable[str] = ()) -> list[str]:
    """The names the certificate carries: the public host name, `localhost`, the listen address
    (unless it is a wildcard), loopback, and the operator's extra names; each once, in that order."""
    names = [hostname, "localhost", listen_host, "127.0.0.1", "::1", *extra]
    wildcard = {"", "0.0.0.0", "::", "*"}
    return list(dict.fromkeys(n.strip().lower() for n in names if n and n.strip() not in wildcard))


def _alternative(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        return x509.DNSName(name)


def _names_of(cert_path: Path) -> set[str]:
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        alternatives = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    found = {str(n).lower() for n in alternatives.get_values_for_type(x509.DNSName)}
    return found | {str(a) for a in alternatives.get_values_for_type(x509.IPAddress)}


def _normalised(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        return name


def self_signed(folder: Path, names: list[str]) -> tuple[Path, Path]:
    """The certificate (with its CA after it) and key files in `folder`, made when missing or when
    they do not carry every one of `names`; the key and the CA's key readable by the owner only."""
    cert_path, key_path, ca_path = folder / CERT, folder / KEY, folder / CA
    wanted = {_normalised(n) for n in names}
    if cert_path.exists() and key_path.exists() and ca_path.exists() and wanted <= _names_of(cert_path):
        return cert_path, key_path
    if cert_path.exists():
        log.warning("the relay's certificate lacks %s: made again (clients that pinned it must pin the new one)",
                    ", ".join(sorted(wanted - _names_of(cert_path))))  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"AutoRelay local CA for {names[0]}")])
    ca_cert = (
        _base(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        _base(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]), ca_name, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_alternative(n) for n in names]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _private(key_path, key)
    _private(folder / "smtp-relay-ca-key.pem", ca_key)
    pem = serialization.Encoding.PEM
    cert_path.write_bytes(leaf.public_bytes(pem) + ca_cert.public_bytes(pem))
    ca_path.write_bytes(ca_cert.public_bytes(pem))
    return cert_path, key_path


def _base(subject: x509.Name, issuer: x509.Name, public_key, now: datetime.datetime) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID)
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


def fingerprint(cert_path: Path) -> str:
    """SHA-256 of the (first) certificate (DER), as `openssl x509 -fingerprint -sha256` prints it."""
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    digest = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context
