"""Benchmark the monitoring stack's idle memory (RSS) in an installed container.

Method:
- a freshly booted container gets `./facteur install` (monitoring is on by default), or with
  --reuse the kept test container of FACTEUR_TEST_INSTANCE is used as it is;
- after --idle seconds of quiet (Prometheus scraping at the configured interval), VmRSS of every
  process is read from /proc inside the container and summed per monitoring daemon: Prometheus,
  Alertmanager, the node, postfix, mysqld and blackbox exporters, and rsyslog (installed under
  systemd so that the postfix exporter can read Postfix's log); Prometheus's TSDB size on disk too;
- RSS counts shared pages once per process, so the total slightly overstates the real cost.
Everything stays inside the container's own network namespace.
"""
from __future__ import annotations

import argparse
import time

from tests.harness.container import Container

from benchmarks.session import InstallFailed, add_machine_arguments, installed_machine
from benchmarks.stack import RSS_SCRIPT

# /proc/PID/status Name: (the first 15 characters of the executable's name).
MONITORING_PROCESSES = {
    "prometheus": ("prometheus",),
    "alertmanager": ("prometheus-aler",),
    "node-exporter": ("prometheus-node",),
    "postfix-exporter": ("prometheus-post",),
    "mysqld-exporter": ("prometheus-mysq",),
    "blackbox-exporter": ("prometheus-blac",),
    "rsyslog": ("rsyslogd",),
}


def monitoring_rss(container: Container) -> dict[str, int]:
    """Return resident memory (KiB) per monitoring daemon, summed over its processes."""
    totals = {name: 0 for name in MONITORING_PROCESSES}
    for line in container.exec(["python3", "-c", RSS_SCRIPT]).stdout.splitlines():
        process, rss = line.rsplit(" ", 1)
        for name, names in MONITORING_PROCESSES.items():
            if process in names:
                totals[name] += int(rss)
                break
    return totals


def report(container: Container, idle: int) -> None:
    time.sleep(idle)
    rss = monitoring_rss(container)
    for name, kib in rss.items():
        print(f"idle RSS {name:18s} {kib / 1024:7.1f} MiB")
    print(f"idle RSS monitoring total  {sum(rss.values()) / 1024:7.1f} MiB")
    tsdb = container.exec(["du", "-sk", "/var/lib/prometheus/metrics2"], check=False).stdout.split()
    if tsdb:
        print(f"Prometheus TSDB on disk    {int(tsdb[0]) / 1024:7.1f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_machine_arguments(parser)
    parser.add_argument("--idle", type=int, default=60, help="seconds of quiet before measuring")
    args = parser.parse_args()

    print(__doc__)
    try:
        with installed_machine(args, f"fct-bench-mon-{args.release}") as container:
            report(container, args.idle)
    except InstallFailed as failure:
        print(failure)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
