"""Headless Chromium for the browser tests: Debian's chromium driven through Debian's chromedriver.

Nothing is downloaded: the Service gets the path of /usr/bin/chromedriver, so Selenium Manager is
never called, and the options name /usr/bin/chromium. The browser runs on the test host and reaches
the machine like the mail clients do (see clients.py): by its 198.18.N.2 address, with the
certificate checked for its hostname:

- `--host-resolver-rules` maps the machine's hostname to its address and every other name to
  "not found", so the browser cannot wander off to the internet (no background updates either);
- the certificate is checked here first, against the machine's CA and hostname, and only then its
  public key (SPKI sha256) is given to `--ignore-certificate-errors-spki-list`: Chromium accepts
  that one key and still refuses any other certificate error (no global switch-off).

    browser = Browser(hostname="mail.example.test", ip="198.18.10.2",
                      spki=server_spki_sha256("mail.example.test", "198.18.10.2", ca_file), ...)
    browser.get("/postfixadmin/")
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import socket
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from . import layout, waits

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

#: Where the browser tests leave their screenshots (one PNG per page worth looking at).
SCREENSHOTS_DIR = layout.ARTIFACTS_DIR / "screenshots"

T = TypeVar("T")


def missing() -> str | None:
    """Return why the browser tests cannot run here (chromium or chromedriver absent), or None.

    Selenium is not checked: it is pinned in requirements-dev.lock, so its absence is a broken
    test virtualenv, which must fail rather than skip.
    """
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if absent:
        return (f"{' and '.join(absent)} not installed (Debian's chromium and chromium-driver; "
                "./tests/run installs them)")
    return None


def server_spki_sha256(hostname: str, ip: str, ca_file: str, port: int = 443, timeout: float = 30) -> str:
    """Given a TLS server at ip:port, return the base64 sha256 of its certificate's public key.

    The chain is verified against `ca_file` and the name against `hostname` first: the pin is
    only computed for a certificate that the machine's own CA vouches for. Raises ssl.SSLError
    (or OSError) if the server cannot be reached or its certificate does not verify.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    context = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection((ip, port), timeout) as sock:
        with context.wrap_socket(sock, server_hostname=hostname) as tls:
            der = tls.getpeercert(binary_form=True)
    spki = x509.load_der_x509_certificate(der).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _screenshot_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "page"


class Browser:
    """One headless Chromium (its own temporary profile and download directory) on one site.

    `get(path)` opens https://HOSTNAME/path; `wait(...)`, `visible(css)`, `clickable(css)` wait
    at most `timeout` seconds (TimeoutException with what was awaited); `screenshot(name)` writes
    SCREENSHOTS_DIR/PREFIX-NAME.png; `wait_for_download(name, size)` waits for a finished download.
    """

    def __init__(self, *, hostname: str, ip: str, spki: str, screenshot_prefix: str = "",
                 timeout: float = 30, window: tuple[int, int] = (1280, 860)):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.hostname = hostname
        self.timeout = timeout
        self.screenshot_prefix = screenshot_prefix
        self._tmp = Path(tempfile.mkdtemp(prefix="facteur-browser-"))
        self.download_dir = self._tmp / "downloads"
        self.download_dir.mkdir()
        profile = self._tmp / "profile"

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for arg in (
            "--headless=new",
            "--no-sandbox",                      # the tests run as root
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",        # also required for the SPKI list to be honoured
            f"--window-size={window[0]},{window[1]}",
            f"--host-resolver-rules=MAP {hostname} {ip}, MAP * ~NOTFOUND",
            f"--ignore-certificate-errors-spki-list={spki}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--lang=en-US",
        ):
            options.add_argument(arg)
        options.add_experimental_option("prefs", {
            "download.default_directory": str(self.download_dir),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
            "intl.accept_languages": "en-US,en",
        })
        service = Service(executable_path=str(CHROMEDRIVER), log_output=str(self._tmp / "chromedriver.log"))
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except Exception:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        # Headless Chromium may ignore the download preferences: say it again through DevTools.
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": str(self.download_dir)})
        self.driver.set_page_load_timeout(max(timeout, 120))
        self.driver.set_script_timeout(timeout)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def forget_session(self) -> None:
        """Drop every cookie (a new visitor: the next page starts logged out)."""
        self.driver.delete_all_cookies()

    # ------------------------------------------------------------------ navigation

    def url(self, path: str) -> str:
        return f"https://{self.hostname}/{path.lstrip('/')}"

    def get(self, path: str) -> None:
        self.driver.get(self.url(path))

    @property
    def title(self) -> str:
        return self.driver.title

    @property
    def source(self) -> str:
        return self.driver.page_source

    # ------------------------------------------------------------------ waits

    def wait(self, condition: Callable, timeout: float | None = None, what: str = "") -> T:
        """WebDriverWait(timeout).until(condition): return its value or raise TimeoutException(what).

        NoSuchElement and StaleElementReference raised by `condition` count as "not yet".
        """
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        # A page that redraws (a list refreshed, an upload finished) replaces elements under the
        # condition's feet: that is "not yet", not a failure.
        wait = WebDriverWait(self.driver, timeout or self.timeout, poll_frequency=0.25,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))
        return wait.until(condition, what or getattr(condition, "__name__", "condition"))

    def visible(self, css: str, timeout: float | None = None):
        """The first element matching `css` once it is displayed."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait(ec.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout,
                         f"a visible element {css!r} on {self.driver.current_url}")

    def present(self, css: str, timeout: float | None = None):
        """The first element matching `css` once it is in the page (shown or not)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait(ec.presence_of_element_located((By.CSS_SELECTOR, css)), timeout,
                         f"an element {css!r} on {self.driver.current_url}")

    def clickable(self, css: str, timeout: float | None = None):
        """The first element matching `css` once it is displayed and enabled."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait(ec.element_to_be_clickable((By.CSS_SELECTOR, css)), timeout,
                         f"a clickable element {css!r} on {self.driver.current_url}")

    def all(self, css: str) -> list:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fill(self, css: str, text: str) -> None:
        """Clear the visible field `css` and type `text` into it."""
        field = self.visible(css)
        field.clear()
        field.send_keys(text)

    def text_appears(self, css: str, pattern: str, timeout: float | None = None) -> str:
        """Wait until an element matching `css` shows text matching the regex `pattern`; return that text."""
        from selenium.webdriver.common.by import By

        regex = re.compile(pattern, re.I)

        def probe(driver):
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                try:
                    text = element.text
                except Exception:  # noqa: BLE001 - the element went away: look again
                    continue
                if regex.search(text):
                    return text
            return False

        return self.wait(probe, timeout, f"text /{pattern}/ in {css!r} on {self.driver.current_url}")

    # ------------------------------------------------------------------ artefacts

    def screenshot(self, name: str) -> Path:
        """Save the current page as SCREENSHOTS_DIR/PREFIX-NAME.png and return the path."""
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        stem = _screenshot_name(f"{self.screenshot_prefix}-{name}" if self.screenshot_prefix else name)
        path = SCREENSHOTS_DIR / f"{stem}.png"
        self.driver.save_screenshot(str(path))
        return path

    def wait_for_download(self, name: str, size: int, timeout: float = 120) -> Path:
        """Wait until DOWNLOAD_DIR/name is complete (no .crdownload left, `size` bytes); return its path."""
        target = self.download_dir / name

        def probe() -> Path | None:
            if any(p.suffix == ".crdownload" for p in self.download_dir.iterdir()):
                return None
            if target.is_file() and target.stat().st_size == size:
                return target
            return None

        try:
            return waits.wait_until(probe, timeout, 0.5, f"download of {name} ({size} bytes)")
        except TimeoutError as exc:
            found = {p.name: p.stat().st_size for p in self.download_dir.iterdir()}
            raise TimeoutError(f"{exc}; download directory holds {found}") from None
