"""A throw-away Debian machine: systemd-nspawn on an overlay of a cached rootfs, in its own netns.

    c = Container("trixie")             # systemd as PID 1
    c = Container("trixie", init=False)  # no init system: services start through init scripts
    with c:                              # start() ... stop(), also on errors
        c.exec(["apt-get", "update"])

Each container gets:
  * RUN_ROOT/<run-id>/<name>/{upper,work,merged,console.log}: an overlay over the cached base,
    so the base stays pristine and a container costs nothing to create;
  * a network namespace (see netns.py) with the address 198.18.N.2, the host being 198.18.N.1;
  * apt configured to use the host's apt-cacher-ng, hostname `mail`, /etc/hosts naming
    mail.example.test, its own machine-id and a resolv.conf pointing at itself (no resolver
    outside is reachable anyway);
  * the checkout read-only at /opt/facteur-src and the wheelhouse at /opt/facteur-wheelhouse.

stop() removes all of it. A guard (atexit and SIGTERM) stops containers still running when the
process ends. FACTEUR_TEST_KEEP=1 leaves the container up instead and records its state in
RUN_ROOT/<name>.json; FACTEUR_TEST_REUSE=1 attaches to such a container if it is alive (and keeps
it). `python -m tests.harness cleanup` removes everything left over.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from . import aptproxy, layout, log, netns, procs, rootfs, wheelhouse
from .hostcmd import CommandError
from .mounts import mount_overlay, umount_tree

BOOT_TIMEOUT = float(os.environ.get("FACTEUR_TEST_BOOT_TIMEOUT", "60"))
STOP_TIMEOUT = 30.0
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "yes", "true", "on")


class ContainerError(RuntimeError):
    """The container could not be created, booted or reached."""


class ExecError(CommandError):
    """A command inside the container exited non-zero; str() shows the tail of its output."""


class Container:
    """One systemd-nspawn container; see the module docstring."""

    def __init__(self, release: str, init: bool = True, *, keep: bool | None = None,
                 reuse: bool | None = None, name: str | None = None):
        layout.python_version(release)  # validates the release name
        self.release = release
        self.init = init
        self.name = name or layout.container_name(release, init)
        self.label = layout.label(self.name)
        self.slot = layout.slot_for(self.name)
        self.ip = self.slot.container_ip
        self.host_ip = self.slot.host_ip
        self.netns = self.name
        self.reuse = _flag("FACTEUR_TEST_REUSE") if reuse is None else reuse
        self.keep = (_flag("FACTEUR_TEST_KEEP") or self.reuse) if keep is None else keep
        self.reused = False
        self.run_dir: Path | None = None
        self.nspawn_pid: int | None = None
        self.nspawn_start: int | None = None
        self.pid1: int | None = None
        self.pid1_start: int | None = None
        self.boot_seconds: float | None = None
        self._popen: subprocess.Popen | None = None
        self._lock_fd: int | None = None

    # ----------------------------------------------------------------- paths

    @property
    def merged(self) -> Path:
        assert self.run_dir is not None, "container not started"
        return self.run_dir / "merged"

    @property
    def console_log(self) -> Path:
        assert self.run_dir is not None, "container not started"
        return self.run_dir / "console.log"

    # ------------------------------------------------------------- lifecycle

    def __enter__(self) -> Container:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> Container:
        """Boot the container (or attach to a kept one when reuse is on) and wait until it is ready.

        Raises ContainerError with the console log's tail if it does not come up in time.
        """
        self._acquire_lock()
        try:
            if self.reuse and self._attach():
                _register(self)
                return self
            from . import cleanup  # late import: cleanup uses this module's state format

            cleanup.remove_container(self.name, lock_held=True)
            base = rootfs.ensure(self.release)
            aptproxy.ensure()
            wheels = wheelhouse.ensure(self.release)
            run_id = time.strftime("run-%Y%m%d-%H%M%S-") + str(os.getpid())
            self.run_dir = layout.RUN_ROOT / run_id / self.name
            self.run_dir.mkdir(parents=True)
            self._save_state("starting")
            _register(self)
            t0 = time.monotonic()
            netns.create(self.netns, self.slot)
            mount_overlay(base, self.run_dir / "upper", self.run_dir / "work", self.merged)
            self._prepare_tree()
            self._boot(wheels)
            self._wait_ready()
            self.boot_seconds = time.monotonic() - t0
            self._save_state("running")
            log.info(f"{self.name}: up in {self.boot_seconds:.1f}s at {self.ip} "
                     f"({'systemd' if self.init else 'no init'}; console: {self.console_log})")
            return self
        except BaseException:
            self._teardown()
            raise

    def attach(self) -> bool:
        """Attach to a kept container of this name if it is alive (never boots one); True if attached."""
        self._acquire_lock()
        if self._attach():
            _register(self)
            return True
        self._release_lock()
        return False

    def stop(self) -> None:
        """Power the container off and remove its mounts, namespaces and files.

        With keep on, leave it running instead and record its state for a later session.
        Safe to call more than once and on a container that failed half-way through start().
        """
        _unregister(self)
        if self.keep and self.alive():
            self._save_state("kept")
            log.info(f"{self.name}: kept running (state {layout.state_file(self.name)}); "
                     f"`python -m tests.harness shell {self.label}` gets a shell, "
                     f"`python -m tests.harness cleanup` removes it")
            self._release_lock()
            return
        self._teardown()

    def alive(self) -> bool:
        return procs.alive(self.pid1, self.pid1_start) and procs.alive(self.nspawn_pid, self.nspawn_start)

    # ------------------------------------------------------------ operations

    def exec(self, argv: list[str], input: str | None = None, timeout: float | None = 600,
             env: dict[str, str] | None = None, check: bool = True, cwd: str | None = None,
             output: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run `argv` inside the container (all its namespaces) with a clean environment.

        The environment is BASE_ENV plus `env`; nothing leaks from the host's. `output`, if given,
        receives stdout and stderr together as they come (and is returned as stdout). Output goes
        through files, not pipes, so a daemon started by the command cannot make this hang.
        Raises ExecError if `check` and the exit status is not 0, subprocess.TimeoutExpired on timeout.
        """
        if not self.alive():
            raise ContainerError(f"{self.name} is not running (console: {self.run_dir and self.console_log})")
        full = self.nsenter_argv(argv, env=env, cwd=cwd)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                tempfile.TemporaryFile() as inp:
            if input is not None:
                inp.write(input.encode())
                inp.seek(0)
            stdout = open(output, "ab") if output else out
            try:
                proc = subprocess.Popen(full, stdin=inp if input is not None else subprocess.DEVNULL,
                                        stdout=stdout, stderr=stdout if output else err,
                                        start_new_session=True)
                try:
                    code = proc.wait(timeout=timeout)
                except BaseException:
                    _killpg(proc)
                    raise
            finally:
                if output:
                    stdout.close()
            if output:
                text_out, text_err = Path(output).read_text(errors="replace"), ""
            else:
                out.seek(0)
                err.seek(0)
                text_out = out.read().decode(errors="replace")
                text_err = err.read().decode(errors="replace")
        if check and code != 0:
            raise ExecError(code, list(argv), text_out, text_err)
        return subprocess.CompletedProcess(list(argv), code, text_out, text_err)

    def nsenter_argv(self, argv: list[str], env: dict[str, str] | None = None,
                     cwd: str | None = None) -> list[str]:
        """Return the host command line that runs `argv` inside the container."""
        variables = [f"{k}={v}" for k, v in {**BASE_ENV, **(env or {})}.items()]
        chdir = ["-C", cwd] if cwd else []
        return ["nsenter", "-t", str(self.pid1), "-a", "/usr/bin/env", "-i", *chdir, *variables, *argv]

    def read_file(self, path: str) -> str:
        """Return the text of `path` as the container sees it (symlinks resolved inside the tree).

        Files on the container's own mounts (/run, /tmp under systemd...) are read through exec.
        Raises FileNotFoundError if it does not exist.
        """
        host_path = self.host_path(path)
        if host_path.is_file():
            return host_path.read_text(errors="replace")
        cp = self.exec(["cat", "--", path], check=False)
        if cp.returncode != 0:
            raise FileNotFoundError(f"{self.name}:{path}: {cp.stderr.strip()}")
        return cp.stdout

    def host_path(self, path: str) -> Path:
        """Map a container path to the host path in the merged tree, following symlinks inside it."""
        root = self.merged
        parts = [p for p in path.split("/") if p not in ("", ".")]
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = root.joinpath(*resolved, part)
            if candidate.is_symlink():
                hops += 1
                if hops > 40:
                    raise OSError(f"too many symlinks resolving {path}")
                target = os.readlink(candidate)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p not in ("", ".")] + parts
                continue
            resolved.append(part)
        return root.joinpath(*resolved)

    def stranger_netns(self) -> str:
        """Create (once) and return the stranger namespace on this container's link (198.18.N.3)."""
        return netns.add_stranger(self.netns, self.slot)

    # ------------------------------------------------------------- internals

    def _prepare_tree(self) -> None:
        """Write the test machine's identity and apt proxy into the upper layer (before boot)."""
        files = {
            "/etc/apt/apt.conf.d/00facteur-test-proxy":
                f'// Written by the facteur test harness: the host\'s apt-cacher-ng.\n'
                f'Acquire::http::Proxy "http://{self.host_ip}:{layout.APT_PROXY_PORT}";\n',
            "/etc/hostname": f"{layout.CONTAINER_HOSTNAME}\n",
            "/etc/hosts": (
                "127.0.0.1\tlocalhost\n"
                f"{self.ip}\t{layout.CONTAINER_FQDN} {layout.CONTAINER_HOSTNAME}\n"
                "::1\tlocalhost ip6-localhost ip6-loopback\n"
                "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
            ),
            "/etc/resolv.conf": "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
            "/etc/machine-id": uuid.uuid4().hex + "\n",
        }
        if not self.init:
            # Like the host of these machines: package scripts may not start services, so the
            # install itself must start everything through Debian's init scripts.
            files["/usr/sbin/policy-rc.d"] = (
                "#!/bin/sh\n# facteur test harness: no service starts from packages\nexit 101\n")
        for path, content in files.items():
            target = self.merged / path.lstrip("/")
            if target.is_symlink():
                target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        (self.merged / "etc/machine-id").chmod(0o444)
        if not self.init:
            (self.merged / "usr/sbin/policy-rc.d").chmod(0o755)

    def _boot(self, wheels: Path) -> None:
        argv = [
            "systemd-nspawn", "-D", str(self.merged),
            "--register=no", "--keep-unit",
            f"--machine={self.name}", f"--hostname={layout.CONTAINER_HOSTNAME}",
            f"--network-namespace-path=/run/netns/{self.netns}",
            "--console=passive", "--resolv-conf=off", "--link-journal=no", "--timezone=off",
            f"--bind-ro={layout.REPO}:{layout.SRC_IN_CONTAINER}",
            f"--bind-ro={wheels}:{layout.WHEELHOUSE_IN_CONTAINER}",
            # fail2ban's bans are nftables (Debian 13) or iptables (Debian 12) rules: they need
            # CAP_NET_ADMIN, which then acts on the container's own network namespace only.
            "--capability=CAP_NET_ADMIN",
        ]
        if self.init:
            argv.append("--boot")
        else:
            # A stub init as PID 1 reaps the daemons that init scripts leave behind.
            argv += ["--as-pid2", "/bin/sleep", "infinity"]
        log.info(f"{self.name}: booting {self.release} ({'systemd' if self.init else 'no init'})")
        with open(self.console_log, "ab") as console:
            self._popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        self.nspawn_pid = self._popen.pid
        self.nspawn_start = procs.starttime(self.nspawn_pid)
        self._save_state("starting")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        status = "no PID 1 yet"
        while time.monotonic() < deadline:
            if self._popen is not None and self._popen.poll() is not None:
                raise ContainerError(self._why(f"systemd-nspawn exited with {self._popen.returncode}"))
            if self.pid1 is None:
                pid1 = procs.container_init(self.nspawn_pid)
                if pid1 is not None:
                    self.pid1, self.pid1_start = pid1, procs.starttime(pid1)
                    self._save_state("starting")
            if self.pid1 is not None:
                if not self.init:
                    if self.exec(["true"], check=False, timeout=10).returncode == 0:
                        return
                else:
                    cp = self.exec(["systemctl", "is-system-running"], check=False, timeout=10)
                    status = cp.stdout.strip() or cp.stderr.strip()
                    if status in ("running", "degraded"):
                        if status == "degraded":
                            failed = self.exec(["systemctl", "--failed", "--no-legend", "--plain"],
                                               check=False).stdout.strip()
                            log.info(f"{self.name}: boot degraded; failed units: {failed or '?'}")
                        return
                    if status == "maintenance":
                        break
            time.sleep(0.3)
        raise ContainerError(self._why(f"not ready after {BOOT_TIMEOUT:.0f}s (state: {status})"))

    def _why(self, message: str) -> str:
        try:
            console = log.tail(self.console_log.read_text(errors="replace"), 40)
        except OSError:
            console = "(no console log)"
        return f"{self.name}: {message}; last lines of {self.console_log}:\n{console}"

    def _shutdown(self) -> None:
        """Stop the container's processes: orderly poweroff first, SIGKILL of its PID 1 last."""
        if not procs.alive(self.nspawn_pid, self.nspawn_start):
            self._reap()
            return
        if self.init and procs.alive(self.pid1, self.pid1_start):
            os.kill(self.pid1, signal.SIGRTMIN + 4)  # systemd: start poweroff.target
        else:
            os.kill(self.nspawn_pid, signal.SIGTERM)
        if self._wait_nspawn(STOP_TIMEOUT):
            return
        log.info(f"{self.name}: no orderly stop after {STOP_TIMEOUT:.0f}s, killing it")
        if procs.alive(self.pid1, self.pid1_start):
            os.kill(self.pid1, signal.SIGKILL)  # kills every process of the PID namespace
        if self._wait_nspawn(10):
            return
        if procs.alive(self.nspawn_pid, self.nspawn_start):
            os.kill(self.nspawn_pid, signal.SIGKILL)
        self._wait_nspawn(10)

    def _wait_nspawn(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._reap()
            if not procs.alive(self.nspawn_pid, self.nspawn_start):
                return True
            time.sleep(0.2)
        return False

    def _reap(self) -> None:
        if self._popen is not None:
            self._popen.poll()

    def _teardown(self) -> None:
        """Remove everything this container made; errors are reported, the remaining steps still run."""
        errors = []
        steps = [("stop processes", self._shutdown),
                 ("save console log", self._save_console),
                 ("unmount", lambda: self.run_dir and umount_tree(self.run_dir)),
                 ("remove network", lambda: netns.remove(self.netns, self.slot)),
                 ("remove files", self._remove_files)]
        for what, step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - keep going, report at the end
                errors.append(f"{what}: {exc}")
        self.pid1 = self.nspawn_pid = None
        self._release_lock()
        if errors:
            raise ContainerError(f"{self.name}: cleanup incomplete ({'; '.join(errors)}); "
                                 "run `python -m tests.harness cleanup`")

    def _save_console(self) -> None:
        if self.run_dir and self.console_log.exists():
            layout.ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
            dest = layout.ARTIFACTS_DIR / f"{self.label}-console-{self.run_dir.parent.name}.log"
            dest.write_bytes(self.console_log.read_bytes())

    def _remove_files(self) -> None:
        if self.run_dir and self.run_dir.exists():
            subprocess.run(["rm", "-rf", "--one-file-system", "--", str(self.run_dir)], check=True)
            try:
                self.run_dir.parent.rmdir()  # the run-id directory, once its last container is gone
            except OSError:
                pass
        layout.state_file(self.name).unlink(missing_ok=True)

    # ------------------------------------------------------ state and locking

    def _save_state(self, status: str) -> None:
        state = {
            "name": self.name, "release": self.release, "init": self.init, "status": status,
            "run_dir": str(self.run_dir), "nspawn_pid": self.nspawn_pid, "nspawn_start": self.nspawn_start,
            "pid1": self.pid1, "pid1_start": self.pid1_start, "ip": self.ip, "host_ip": self.host_ip,
            "netns": self.netns, "slot": self.slot.number, "repo": str(layout.REPO),
        }
        path = layout.state_file(self.name)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1) + "\n")
        os.replace(tmp, path)

    def _attach(self) -> bool:
        """Attach to a kept container of the same name and kind if it is alive; return True if so."""
        try:
            state = json.loads(layout.state_file(self.name).read_text())
        except (OSError, ValueError):
            return False
        if state.get("release") != self.release or state.get("init") != self.init \
                or state.get("status") not in ("running", "kept"):
            return False
        self.run_dir = Path(state["run_dir"])
        self.nspawn_pid, self.nspawn_start = state["nspawn_pid"], state["nspawn_start"]
        self.pid1, self.pid1_start = state["pid1"], state["pid1_start"]
        if not self.alive() or not self.merged.is_dir():
            self.run_dir = self.nspawn_pid = self.pid1 = None
            return False
        self.reused = True
        self._save_state("running")
        log.info(f"{self.name}: reusing the kept container (nspawn PID {self.nspawn_pid}, {self.ip})")
        return True

    def _acquire_lock(self) -> None:
        layout.RUN_ROOT.mkdir(parents=True, exist_ok=True)
        fd = os.open(layout.lock_file(self.name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ContainerError(f"{self.name} is in use by another test session "
                                 f"(lock {layout.lock_file(self.name)})") from None
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _killpg(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


# ------------------------------------------------------------------- guard

_active: list[Container] = []
_guard_installed = False


def _register(container: Container) -> None:
    global _guard_installed
    if container not in _active:
        _active.append(container)
    if not _guard_installed:
        atexit.register(stop_all)
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_sigterm)
        _guard_installed = True


def _unregister(container: Container) -> None:
    if container in _active:
        _active.remove(container)


def _on_sigterm(signum, frame) -> None:
    # Unwind like Ctrl-C so that finally blocks and fixture finalizers run; atexit catches the rest.
    raise KeyboardInterrupt(f"signal {signum}")


def stop_all() -> None:
    """Stop every container this process started and has not stopped (kept ones stay up)."""
    for container in list(_active):
        try:
            container.stop()
        except Exception as exc:  # noqa: BLE001
            log.info(f"{container.name}: {exc}")
