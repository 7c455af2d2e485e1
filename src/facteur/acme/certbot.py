"""certbot's command lines for facteur's certificate, and running them.

Every run names facteur's own directories (facteur.acme.paths) and lineage (`--cert-name facteur`).
Choices that are stored in the lineage's renewal settings, so that each renewal repeats them:
HTTP-01 through the webroot nginx serves on port 80; an RSA 2048 key like the local CA's certificates
(every mail client and server takes it); `--reuse-key`, so that a renewal keeps the key and the TLSA
records published for DANE stay valid; the deploy hook that installs the result for the services.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from facteur.acme import paths
from facteur.acme.paths import Layout

CERTBOT = "certbot"
TIMEOUT = 600


# certbot keeps one log file per run; 60 is a month of twice-daily renewals (its default is 1000).
LOG_BACKUPS = 60


def _common(dirs: Layout) -> list[str]:
    return ["--non-interactive", "--config-dir", str(dirs.config), "--work-dir", str(dirs.work),
            "--logs-dir", str(dirs.logs), "--max-log-backups", str(LOG_BACKUPS)]


def issue_argv(names: Sequence[str], server: str, email: str | None, dirs: Layout = paths.DEFAULT
               ) -> list[str]:
    """Return `certbot certonly` asking `server` for a certificate covering `names` (hostname first),
    replacing the lineage's current one whatever its names or age: the caller decided it is needed."""
    contact = ["--email", email, "--no-eff-email"] if email else ["--register-unsafely-without-email"]
    return [
        CERTBOT, "certonly", *_common(dirs), "--agree-tos", *contact,
        "--server", server, "--cert-name", paths.CERT_NAME,
        "--webroot", "--webroot-path", str(dirs.webroot),
        "--key-type", "rsa", "--rsa-key-size", "2048", "--reuse-key",
        "--renew-with-new-domains", "--force-renewal",
        "--deploy-hook", str(dirs.deploy_hook),
        "--domains", ",".join(names),
    ]


def renew_argv(force: bool = False, dirs: Layout = paths.DEFAULT) -> list[str]:
    """Return `certbot renew` of facteur's lineage: renewed only when due, unless `force`.

    No random sleep: the timer that runs it already spreads the runs (RandomizedDelaySec).
    """
    argv = [CERTBOT, "renew", *_common(dirs), "--cert-name", paths.CERT_NAME, "--no-random-sleep-on-renew"]
    return argv + (["--force-renewal"] if force else [])


def run(argv: Sequence[str], ca_bundle: str | None = None, timeout: float = TIMEOUT
        ) -> subprocess.CompletedProcess[str]:
    """Run certbot (argv list, no shell) and return the completed process, output captured.

    `ca_bundle`: the CAs to trust for the ACME server's HTTPS (tls.acme_ca_bundle); certbot's HTTP
    library reads it from REQUESTS_CA_BUNDLE. A missing certbot gives rc 127, a timeout rc 124.
    """
    # certbot is Debian's Python program: nothing of facteur's virtualenv may leak into it.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    if ca_bundle:
        env["REQUESTS_CA_BUNDLE"] = ca_bundle
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, env=env, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        return subprocess.CompletedProcess(list(argv), 127, "", "certbot is missing (run: facteur install)")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(list(argv), 124, "", f"certbot took more than {timeout:.0f} s")


# Lines certbot prints around every failure, which say nothing about its cause.
_BOILERPLATE = ("Saving debug log", "Ask for help", "See the logfile", "Some challenges have failed",
                "renew failure(s)", "All renewals failed", "Processing ", "Hint:", "- - -", "Requesting a",
                "Renewing an existing")


def failure_reason(output: str, limit: int = 300) -> str:
    """Given certbot's output (stdout + stderr) of a failed run, return its cause on one line.

    In order of preference: the CA's verdict on a name ("Domain: …" / "Detail: …"), a renewal's
    error, an unexpected error's message, else the last line that is not boilerplate.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    domains = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Domain:")]
    details = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Detail:")]
    reason = ""
    if details:
        reason = f"{domains[0]}: {details[0]}" if domains else details[0]
        if len(details) > 1:
            reason += f" (and {len(details) - 1} more name(s))"
    else:
        for index, line in enumerate(lines):
            if "with error:" in line and line.startswith("Failed to renew"):
                reason = line.split("with error:", 1)[1].strip()
                break
            if line.startswith("An unexpected error occurred") and index + 1 < len(lines):
                reason = lines[index + 1]
                break
        else:
            useful = [line for line in lines if not line.startswith((*_BOILERPLATE, "/"))]
            reason = useful[-1] if useful else "certbot failed without saying why"
    reason = " ".join(reason.split())
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"
