"""Where webhooks may post: public HTTPS endpoints only, never into the network AutoRelay runs in.

The rules are pure; resolving the host is the caller's (through the DNS port). The address that
passed is the one the delivery connects to, so a second, different DNS answer cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from attrs import frozen

from autorelay_core.errors import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services outside the ranges refused anyway (169.254.169.254 is link-local,
# fd00:ec2::254 unique-local): Alibaba's, in the shared address space, and Oracle's legacy one.
_ULA = ipaddress.ip_network("fc00::/7")
_METADATA = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("192.0.0.192")}


@frozen
class Target:
    url: str
    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int


# What a refusal adds for the person developing against a receiver on their own machine.
LOCAL_ONLY = (
    " (plain http:// and private or loopback addresses are for local development: the server's operator can"
    " allow them for this project with `autorelay webhooks local on`)"
)


def parse_target(url: str, *, allow_private: bool) -> Target:
    """The URL's parts, or Invalid naming what is wrong with it."""
    if not isinstance(url, str) or not url.strip():
        raise Invalid("url must not be empty", field="url")
    if len(url) > 2048:
        raise Invalid("url must be at most 2048 characters", field="url")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise Invalid(f"url is not a valid URL: {error}", field="url") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in schemes:
        raise Invalid(f"url must be an https:// URL{LOCAL_ONLY}", field="url")
    if not parts.hostname:
        raise Invalid("url must name a host", field="url")
    if parts.username or parts.password:
        raise Invalid("url must not carry credentials", field="url")
    scheme = parts.scheme.lower()
    return Target(url.strip(), scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80))


def literal_address(host: str) -> Address | None:
    """The address a host name stands for without any lookup: IPv4/IPv6 literals, including the
    forms C libraries also accept (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`), and `localhost`."""
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    try:
        # Pure parsing, no lookup; what it accepts, resolvers accept as an address too.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def refusal(address: Address) -> str | None:
    """Why posting to this address is refused (None: it is a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is None and address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = refusal(embedded)
            return f"{reason} (embedded in {address})" if reason else None
    if isinstance(address, ipaddress.IPv6Address) and address in _ULA:
        return "unique-local"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        # fec0::/10: deprecated (RFC 3879) yet still routed inside some networks, and Python
        # counts it as global.
        return "site-local"
    for label, test in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("cloud metadata", address in _METADATA),
        ("not globally routable", not address.is_global),
    ):
        if test:
            return label
    return None


def check_addresses(host: str, addresses: list[Address], *, allow_private: bool) -> Address:
    """The address to connect to: the first, once every address the host has is allowed.
    Invalid when any is refused (a host with one private address among public ones is refused:
    which one a client picks is not ours to predict)."""
    if not addresses:
        raise Invalid(f"url host {host} does not resolve", field="url")
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason:
                raise Invalid(f"url host {host} resolves to {address}, a {reason} address", field="url")
    return addresses[0]
