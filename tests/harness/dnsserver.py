"""The simulated internet's DNS: Debian's nsd, authoritative for test zones, in a peer namespace.

It runs on the host (installed by ./tests/run, never started as a host service) inside a client
namespace of its own on a container's link (198.18.N.53), so only that link can reach it. Zones
named in `signed` are DNSSEC-signed (dnspython, NSEC, ECDSA P-256): `trust_anchor(zone)` gives the
DS record a validating resolver starts from, the same for the life of the server.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import dns.dnssec
import dns.message
import dns.query
import dns.rdatatype
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec

from . import log, netns, procs
from .container import Container
from .waits import wait_until

NSD = "/usr/sbin/nsd"
HOST = 53  # 198.18.N.53
# Signatures valid from an hour ago (clock differences) for a day: longer than any test run.
SIGNATURE_BACKDATE_S = 3600
SIGNATURE_LIFETIME_S = 86400


def zone_of(name: str, zones: list[str]) -> str | None:
    """Return the longest of `zones` that `name` (absolute) belongs to, or None."""
    matches = [z for z in zones if name == z or name.endswith("." + z)]
    return max(matches, key=len) if matches else None


class AuthoritativeDNS:
    """nsd serving zones built from record lines; `serve()` (re)starts it, `close()` removes everything."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.netns, self.ip = netns.add_client(container.netns, container.slot, HOST)
        self.dir = Path(tempfile.mkdtemp(prefix="facteur-dns-"))
        self._proc: subprocess.Popen | None = None
        self._serial = 1
        self._keys: dict[str, tuple[ec.EllipticCurvePrivateKey, object]] = {}

    def serve(self, records: list[tuple[str, str, str]], zones: list[str],
              signed: tuple[str, ...] = ()) -> None:
        """Serve `records` (absolute name, type, zone-file value) in `zones` (absolute names), the
        zones in `signed` DNSSEC-signed.

        Records outside every zone are left out. Returns once nsd answers for each zone.
        """
        self.stop()
        self._serial += 1
        by_zone: dict[str, list[str]] = {zone: [] for zone in zones}
        for name, kind, value in records:
            zone = zone_of(name, zones)
            if zone is not None:
                by_zone[zone].append(f"{name} 300 IN {kind} {value}")
        for zone, lines in by_zone.items():
            head = ["$TTL 300",
                    f"{zone} IN SOA ns.{zone} hostmaster.{zone} {self._serial} 3600 600 86400 300",
                    f"{zone} IN NS ns.{zone}", f"ns.{zone} IN A {self.ip}"]
            text = "\n".join(head + lines) + "\n"
            (self.dir / f"{zone}zone").write_text(self._sign(zone, text) if zone in signed else text)
        (self.dir / "nsd.conf").write_text(self._config(zones))
        nsd_log = open(self.dir / "nsd.out", "ab")
        self._proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, NSD, "-d", "-c", str(self.dir / "nsd.conf")],
            stdout=nsd_log, stderr=subprocess.STDOUT, start_new_session=True)
        nsd_log.close()
        for zone in zones:
            wait_until(lambda z=zone: self._answers(z), timeout=20, what=f"nsd answering for {zone}")
        log.info(f"dns: nsd at {self.ip} serves {', '.join(zones)}")

    def _key(self, zone: str):
        """Return (private key, DNSKEY) of `zone`, made on first use (one key signs everything: KSK flag)."""
        if zone not in self._keys:
            private = ec.generate_private_key(ec.SECP256R1())
            dnskey = dns.dnssec.make_dnskey(private.public_key(), dns.dnssec.Algorithm.ECDSAP256SHA256,
                                            flags=257)
            self._keys[zone] = (private, dnskey)
        return self._keys[zone]

    def trust_anchor(self, zone: str) -> str:
        """Return the DS record of signed `zone` (absolute), as `ZONE. DS TAG 13 2 DIGEST`."""
        ds = dns.dnssec.make_ds(zone, self._key(zone)[1], "SHA256")
        return f"{zone} DS {ds.to_text()}"

    def _sign(self, zone: str, text: str) -> str:
        parsed = dns.zone.from_text(text, origin=zone, relativize=False)
        now = int(time.time())
        dns.dnssec.sign_zone(parsed, keys=[self._key(zone)], inception=now - SIGNATURE_BACKDATE_S,
                             expiration=now + SIGNATURE_LIFETIME_S)
        return parsed.to_text(relativize=False)

    def _config(self, zones: list[str]) -> str:
        server = [
            "server:", f"  ip-address: {self.ip}", "  port: 53", '  username: ""', '  chroot: ""',
            f'  zonesdir: "{self.dir}"', '  database: ""', f'  pidfile: "{self.dir}/nsd.pid"',
            f'  xfrdfile: "{self.dir}/xfrd.state"', f'  zonelistfile: "{self.dir}/zone.list"',
            f'  logfile: "{self.dir}/nsd.log"', "  hide-version: yes", "  verbosity: 1",
            "remote-control:", "  control-enable: no",
        ]
        for zone in zones:
            server += ["zone:", f"  name: {zone}", f'  zonefile: "{zone}zone"']
        return "\n".join(server) + "\n"

    def _answers(self, zone: str) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise AssertionError(f"nsd exited: {(self.dir / 'nsd.out').read_text(errors='replace')[-500:]}")
        query = dns.message.make_query(zone, dns.rdatatype.SOA)
        reply = dns.query.udp(query, self.ip, timeout=1)
        return bool(reply.answer)

    def stop(self) -> None:
        if self._proc is not None:
            procs.end(self._proc)
            self._proc = None

    def close(self) -> None:
        self.stop()
        netns.remove_client(self.container.netns, self.container.slot, HOST)
        shutil.rmtree(self.dir, ignore_errors=True)
