"""Sending domains. Live keys may send only from a verified domain of their project (or the
shared sandbox sender). A domain is verified when the DNS records it asks for are published: DKIM
(a TXT record with our public key, or the mailer's CNAMEs), SPF and DMARC."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from attrs import define, frozen


class DomainStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"


@define
class Domain:
    id: str
    project_id: str
    name: str  # lower case
    created_at: datetime
    status: DomainStatus = DomainStatus.PENDING
    verified_at: datetime | None = None
    # DKIM: either our own key (selector, public key as base64 DER, private key PEM sealed with the
    # server secret) or the mailer's tokens (SES: CNAMEs to <token>.dkim.amazonses.com).
    dkim_selector: str = ""
    dkim_public_key: str = ""
    dkim_private_key: str = ""
    dkim_tokens: tuple[str, ...] = ()


@frozen
class DnsRecord:
    type: str  # TXT or CNAME
    name: str
    value: str


def dns_records(domain: Domain, spf: str, dmarc: str = "v=DMARC1; p=none;") -> list[DnsRecord]:
    """What the domain's owner publishes: DKIM first, then SPF and DMARC (with the address its
    aggregate reports are mailed to, when the server reads them: domain/dmarc.py)."""
    records = [
        DnsRecord("CNAME", f"{token}._domainkey.{domain.name}", f"{token}.dkim.amazonses.com")
        for token in domain.dkim_tokens
    ]
    if domain.dkim_selector:
        records.append(
            DnsRecord(
                "TXT", f"{domain.dkim_selector}._domainkey.{domain.name}", f"v=DKIM1; k=rsa; p={domain.dkim_public_key}"
            )
        )
    records.append(DnsRecord("TXT", domain.name, spf))
    records.append(DnsRecord("TXT", f"_dmarc.{domain.name}", dmarc))
    return records
