"""A real DNS server on 127.0.0.1 for the tests (dnslib), answering TXT, CNAME, A and AAAA queries
from a dict the test fills in, as a domain owner publishes records."""

from __future__ import annotations

from collections import defaultdict

import dns.resolver
from dnslib import AAAA, CNAME, QTYPE, RR, TXT, A
from dnslib.server import BaseResolver, DNSServer

from tests.e2e.server import free_port


class _Records(BaseResolver):
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = defaultdict(list)

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        for value in self.records.get((name, kind), []):
            if kind == "TXT":
                chunks = [value[i : i + 255] for i in range(0, len(value), 255)]  # as real zones split them
                reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
            elif kind == "CNAME":
                reply.add_answer(RR(name, QTYPE.CNAME, rdata=CNAME(value), ttl=60))
            elif kind in ("A", "AAAA"):
                rdata = A(value) if kind == "A" else AAAA(value)
                reply.add_answer(RR(name, getattr(QTYPE, kind), rdata=rdata, ttl=0))
        return reply


class DnsServer:
    def __init__(self) -> None:
        self._records = _Records()
        self.port = free_port()
        self._server = DNSServer(self._records, port=self.port, address="127.0.0.1")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def publish(self, kind: str, name: str, value: str) -> None:
        self._records.records[(name.rstrip(".").lower(), kind)].append(value)

    def replace(self, kind: str, name: str, *values: str) -> None:
        """The name now answers only `values` (a host moved, or DNS rebinding)."""
        self._records.records[(name.rstrip(".").lower(), kind)] = list(values)

    def txt(self, name: str) -> bytes | None:
        """dkimpy's `dnsfunc`: the TXT record at `name`, asked of this server over the network."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = ["127.0.0.1"], self.port
        try:
            answer = resolver.resolve(name.decode() if isinstance(name, bytes) else name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(answer[0].strings)

    def __enter__(self) -> DnsServer:
        self._server.start_thread()
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()
