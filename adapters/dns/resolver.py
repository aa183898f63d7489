"""DNS lookups for domain verification, with dnspython's async resolver. The nameserver is the
system's, or the one AUTORELAY_DNS_RESOLVER names (host or host:port), e.g. a local test server."""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.resolver


class DnsPythonResolver:
    def __init__(self, nameserver: str = "", timeout: float = 5.0) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=not nameserver)
        if nameserver:
            host, _, port = nameserver.rpartition(":") if nameserver.count(":") == 1 else (nameserver, "", "")
            self._resolver.nameservers = [host or nameserver]
            if port:
                self._resolver.port = int(port)
        self._resolver.lifetime = timeout

    async def _answers(self, name: str, kind: str) -> list:
        try:
            return list(await self._resolver.resolve(name, kind))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers, dns.exception.Timeout):
            return []

    async def txt(self, name: str) -> list[str]:
        # A TXT record may come in several 255-byte strings: they form one value.
        return [b"".join(r.strings).decode(errors="replace") for r in await self._answers(name, "TXT")]

    async def cname(self, name: str) -> list[str]:
        return [r.target.to_text().rstrip(".").lower() for r in await self._answers(name, "CNAME")]

    async def addresses(self, name: str) -> list[str]:
        # Both families: the guard checks every address a client could pick, not only the first.
        found = [r.address for kind in ("A", "AAAA") for r in await self._answers(name, kind)]
        return list(dict.fromkeys(found))
