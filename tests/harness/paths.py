"""Where the harness keeps things. Everything it creates on the host lives under these two directories,
or carries the ``fct`` prefix (network namespaces, links)."""
from pathlib import Path

#: the checkout under test (bind-mounted read-only into the containers)
REPO_ROOT = Path(__file__).resolve().parents[2]

#: long-lived caches: root filesystems, wheelhouses, the test virtualenv
CACHE_DIR = Path("/var/cache/facteur-tests")

#: per-run state: overlay layers of the live containers, their state files, artifacts
STATE_DIR = Path("/var/tmp/facteur-tests")

#: logs kept after the containers are gone (install logs, console logs)
ARTIFACTS_DIR = STATE_DIR / "artifacts"

#: the cached base of a release lives at CACHE_DIR / release / ROOTFS_NAME
ROOTFS_NAME = "rootfs"

#: mount points inside the container
SRC_IN_CONTAINER = "/opt/facteur-src"
WHEELHOUSE_IN_CONTAINER = "/opt/facteur-wheelhouse"
