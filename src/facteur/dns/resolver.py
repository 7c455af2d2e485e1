"""Look records up in DNS (dnspython), for `facteur dns --check`."""

from __future__ import annotations

import dns.exception
import dns.rdatatype
import dns.resolver

from facteur.errors import FacteurError

TIMEOUT = 5.0


def make_lookup(server: str | None = None, port: int = 53):
    """Return a function (name, type) -> published values, asking `server` or the system's resolvers.

    A name that does not exist or has no record of that type gives []; a server that does not answer
    raises FacteurError (a check against an unreachable DNS proves nothing).
    """
    resolver = dns.resolver.Resolver(configure=server is None)
    if server is not None:
        resolver.nameservers = [server]
        resolver.port = port
    resolver.lifetime = TIMEOUT

    def lookup(name: str, kind: str) -> list[str]:
        try:
            answer = resolver.resolve(name, kind, raise_on_no_answer=False, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            where = server or "the system resolver"
            raise FacteurError(f"DNS lookup of {name} {kind} failed at {where}: {exc}") from None
        if answer.rrset is None:
            return []
        if answer.rdtype == dns.rdatatype.TXT:
            return [b"".join(r.strings).decode(errors="replace") for r in answer.rrset]
        return [r.to_text() for r in answer.rrset]

    return lookup
