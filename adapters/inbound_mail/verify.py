"""Who really sent a received message: SPF for the client's address and envelope sender, DKIM
signatures, and DMARC alignment of both with the From domain, by authheaders (with dkimpy and
pyspf), written as one `Authentication-Results` header (RFC 8601) and read back into fields by
authres. Runs in the reading process (reader.py), whose DNS answers come from the nameserver the
operator set (AUTORELAY_DNS_RESOLVER) or the system's."""

from __future__ import annotations

import dns.resolver
from authheaders import authenticate_message  # type: ignore[import-untyped]
from authres import AuthenticationResultsHeader  # type: ignore[import-untyped]

METHODS = ("spf", "dkim", "dmarc")


def use_nameserver(nameserver: str, timeout: float = 3.0) -> None:
    """Point every lookup of this process (pyspf, dkimpy and authheaders ask dnspython's default
    resolver) at `nameserver` (host or host:port); "" keeps the system's. Either way a lookup
    waits `timeout` seconds at most (the lookups of one message share its read budget)."""
    if not nameserver:
        try:
            dns.resolver.get_default_resolver().lifetime = timeout
        except dns.resolver.NoResolverConfiguration:
            pass  # no nameserver at all: every check reads as temperror or none
        return
    resolver = dns.resolver.Resolver(configure=False)
    host, _, port = nameserver.rpartition(":") if nameserver.count(":") == 1 else (nameserver, "", "")
    resolver.nameservers = [host or nameserver]
    if port:
        resolver.port = int(port)
    resolver.lifetime = timeout
    dns.resolver.default_resolver = resolver


def authenticate(raw: bytes, client_address: str, envelope_from: str, helo: str, authserv_id: str) -> dict[str, str]:
    """{"spf", "dkim", "dmarc": result; "dkim_domain", "from_domain"; "header": the
    Authentication-Results value}. A lookup that fails reads as `temperror`, never as a pass."""
    # No signature is dkim=none (RFC 8601 2.7.1), not a failed one: given as a result already found.
    unsigned = None if _signed(raw) else f"Authentication-Results: {authserv_id}; dkim=none"
    try:
        header = authenticate_message(
            raw,
            authserv_id,
            prev=unsigned,
            spf=bool(client_address),
            dkim=True,
            dmarc=True,
            ip=client_address or None,
            mail_from=envelope_from or f"postmaster@{helo}",
            helo=helo,
        )
    except Exception as error:  # a message the checks cannot take apart: nothing is vouched for
        return {
            "spf": "none",
            "dkim": "none",
            "dmarc": "none",
            "header": f"{authserv_id}; none ({type(error).__name__})",
        }
    found: dict[str, str] = dict.fromkeys(METHODS, "none")
    parsed = AuthenticationResultsHeader.parse(header)
    for result in parsed.results:
        if result.method in METHODS and found[result.method] in ("none", "fail"):
            found[result.method] = str(result.result)  # any passing signature passes DKIM
        for item in result.properties:
            if result.method == "dkim" and item.name == "d" and result.result == "pass":
                found["dkim_domain"] = str(item.value)
            if result.method == "dmarc" and item.name == "from":
                found["from_domain"] = str(item.value)
    found["header"] = (
        header.split(":", 1)[1].strip() if header.lower().startswith("authentication-results:") else header
    )
    return found


def _signed(raw: bytes) -> bool:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].lower()
    return head.startswith(b"dkim-signature:") or b"\ndkim-signature:" in head
