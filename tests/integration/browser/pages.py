"""What a person does in PostfixAdmin and Roundcube, as methods over a harness Browser.

Each method types into the same fields and presses the same buttons as a person would, then waits
(bounded, WebDriverWait) for the page to say that it worked; on failure the exception names what
was awaited and a screenshot `*-failed-*` is left in the artefacts.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from tests.harness.browser import Browser

#: The superadmin of the demo configuration (admin_email); its password is stack.admin_password.
SUPERADMIN = "postmaster@example.test"


@contextlib.contextmanager
def _screenshot_on_failure(browser: Browser, what: str) -> Iterator[None]:
    try:
        yield
    except Exception:
        with contextlib.suppress(Exception):
            browser.screenshot(f"failed-{what}")
        raise


class PostfixAdmin:
    """PostfixAdmin at https://HOSTNAME/postfixadmin/ (Debian's 3.3, its Bootstrap templates)."""

    BASE = "/postfixadmin/"

    def __init__(self, browser: Browser):
        self.b = browser

    def login(self, user: str, password: str, screenshots: bool = False) -> None:
        """Log in as `user`; raise (TimeoutException) unless the main menu appears."""
        b = self.b
        with _screenshot_on_failure(b, "postfixadmin-login"):
            b.forget_session()
            b.get(self.BASE + "login.php")
            b.fill("#fUsername", user)
            b.fill("#fPassword", password)
            if screenshots:
                b.screenshot("postfixadmin-login")
            b.clickable("form[name=frmLogin] button[type=submit]").click()
            b.present("a.btn[href='login.php']")  # the Logout button
            if screenshots:
                b.screenshot("postfixadmin-main")

    def login_error(self, user: str, password: str) -> str:
        """Try to log in; return the error shown (TimeoutException if none is)."""
        b = self.b
        b.forget_session()
        b.get(self.BASE + "login.php")
        b.fill("#fUsername", user)
        b.fill("#fPassword", password)
        b.clickable("form[name=frmLogin] button[type=submit]").click()
        return b.text_appears(".flash-error, .alert-danger", r"\S")

    def _submit_form(self, table: str) -> str:
        """Press the form's submit button; return the confirmation text (or raise with the error shown)."""
        b = self.b
        b.clickable(f"form[name=edit_{table}] input[type=submit][name=submit]").click()

        def outcome(driver):
            for css in (".flash-info", ".flash-error", ".has-error .help-block"):
                for element in b.all(css):
                    text = element.text.strip()
                    if text:
                        return css, text
            return False

        css, text = b.wait(outcome, what=f"PostfixAdmin's answer to the {table} form")
        if css != ".flash-info":
            raise AssertionError(f"PostfixAdmin refused the {table} form: {text}")
        return text

    def add_domain(self, domain: str, screenshots: bool = False) -> str:
        """Create `domain` with the form's defaults; return PostfixAdmin's confirmation."""
        b = self.b
        with _screenshot_on_failure(b, "postfixadmin-add-domain"):
            b.get(self.BASE + "edit.php?table=domain")
            b.fill("input[name='value[domain]']", domain)
            b.fill("input[name='value[description]']", f"made in the browser test ({domain})")
            if screenshots:
                b.screenshot("postfixadmin-add-domain")
            text = self._submit_form("domain")
            assert domain in text, text
            if screenshots:
                b.get(self.BASE + "list.php?table=domain")
                b.text_appears("table", re.escape(domain))
                b.screenshot("postfixadmin-domains")
            return text

    def add_mailbox(self, address: str, password: str, name: str = "", screenshots: bool = False) -> str:
        """Create the mailbox `address` with `password`; return PostfixAdmin's confirmation."""
        b = self.b
        local, domain = address.split("@", 1)
        with _screenshot_on_failure(b, "postfixadmin-add-mailbox"):
            b.get(self.BASE + f"edit.php?table=mailbox&domain={domain}")
            b.fill("input[name='value[local_part]']", local)
            selected = b.visible("select[name='value[domain]'] option:checked").get_attribute("value")
            assert selected == domain, f"the mailbox form offers domain {selected!r}, not {domain!r}"
            b.fill("input[name='value[password]']", password)
            b.fill("input[name='value[password2]']", password)
            if name:
                b.fill("input[name='value[name]']", name)
            if screenshots:
                b.screenshot("postfixadmin-add-mailbox")
            text = self._submit_form("mailbox")
            assert address in text, text
            return text

    def show_mailboxes(self, domain: str, screenshot: bool = False) -> str:
        """Open the domain's list of mailboxes and aliases; return the page's text."""
        b = self.b
        b.get(self.BASE + f"list-virtual.php?domain={domain}")
        b.text_appears("table", re.escape(domain))
        if screenshot:
            b.screenshot("postfixadmin-mailboxes")
        return b.present("body").text

    def logout(self) -> None:
        self.b.get(self.BASE + "login.php")
        self.b.forget_session()


class Roundcube:
    """Roundcube at https://HOSTNAME/ (Debian's 1.6, Elastic skin)."""

    def __init__(self, browser: Browser):
        self.b = browser

    def login(self, user: str, password: str, screenshots: bool = False) -> None:
        """Log in as `user`; raise unless the message list appears."""
        b = self.b
        with _screenshot_on_failure(b, "roundcube-login"):
            b.forget_session()
            b.get("/")
            b.fill("#rcmloginuser", user)
            b.fill("#rcmloginpwd", password)
            if screenshots:
                b.screenshot("roundcube-login")
            b.clickable("#rcmloginsubmit").click()
            b.present("#messagelist")
            self.wait_ready()
            if screenshots:
                b.screenshot("roundcube-inbox")

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until Roundcube's scripts are loaded, no request is under way and no "Loading..." shows."""
        script = ("return !!(window.rcmail && rcmail.task && !rcmail.busy"
                  " && !document.querySelector('#messagestack .loading'))")
        self.b.wait(lambda d: d.execute_script(script), timeout, "Roundcube loaded and idle")

    def logout(self) -> None:
        self.b.forget_session()

    def open_compose(self) -> None:
        b = self.b
        b.get("/?_task=mail&_action=compose")
        b.visible("#compose-subject")
        self.wait_ready()

    def add_recipient(self, address: str) -> None:
        """Type `address` into the To field (Elastic's recipient widget) and confirm it with a comma."""
        from selenium.webdriver.common.by import By

        b = self.b
        box = b.present("#_to").find_element(By.XPATH, "..")
        field = box.find_element(By.CSS_SELECTOR, "input[type=text]")
        field.send_keys(address + ",")
        b.wait(lambda d: address in (d.execute_script("return document.getElementById('_to').value") or ""),
               what=f"{address} in the To field")

    def attach(self, path, timeout: float = 300) -> None:
        """Upload the file at `path` through the compose form's file input; wait until it is listed."""
        b = self.b
        b.present("#uploadformInput").send_keys(str(path))
        name = str(path).rsplit("/", 1)[-1]

        def uploaded(driver):
            for item in b.all("#attachment-list li"):
                classes = item.get_attribute("class") or ""
                if name in item.text and "uploading" not in classes:
                    return item
            return False

        b.wait(uploaded, timeout, f"attachment {name} uploaded and listed")

    def upload_error(self, path, timeout: float = 120) -> str:
        """Upload the file at `path`; return the error message Roundcube shows (TimeoutException if none)."""
        b = self.b
        b.present("#uploadformInput").send_keys(str(path))
        return b.text_appears("#messagestack div.error, #messagestack div.warning", r"\S", timeout)

    def send_message(self, to: str, subject: str, body: str, attachment=None,
                     screenshots: bool = False, timeout: float = 300) -> None:
        """Compose and send a message; wait for Roundcube's "sent" confirmation."""
        b = self.b
        with _screenshot_on_failure(b, "roundcube-send"):
            self.open_compose()
            self.add_recipient(to)
            b.fill("#compose-subject", subject)
            b.fill("#composebody", body)
            if attachment is not None:
                self.attach(attachment)
            if screenshots:
                b.screenshot("roundcube-compose")
            b.clickable("#layout-content .formbuttons button.send, button.btn.send").click()
            b.wait(lambda d: "_action=compose" not in d.current_url, timeout,
                   "Roundcube back at the message list after sending")
            b.present("#messagelist")
            self.wait_ready(timeout)

    def open_message(self, subject: str, screenshot: bool = False, timeout: float = 60) -> None:
        """Find the message `subject` in the inbox list and open it (double click, as a person would)."""
        from selenium.webdriver.common.action_chains import ActionChains

        b = self.b
        with _screenshot_on_failure(b, "roundcube-open-message"):
            b.get("/?_task=mail&_mbox=INBOX")
            self.wait_ready()

            def row(driver):
                rows = [r for r in b.all("#messagelist tbody tr") if subject in r.text]
                return rows[0] if rows else False

            ActionChains(b.driver).double_click(b.wait(row, timeout, f"{subject!r} in the list")).perform()
            b.wait(lambda d: "_action=show" in d.current_url, what="the message opened")
            b.text_appears("h2.subject, .subject", re.escape(subject))
            self.wait_ready()
            if screenshot:
                b.screenshot("roundcube-message")

    def download_attachment(self, name: str, size: int, timeout: float = 180):
        """In the open message, choose Download in the attachment's menu; return the downloaded file."""
        b = self.b
        with _screenshot_on_failure(b, "roundcube-download"):
            items = [li for li in b.all("#attachment-list li") if name in li.text]
            assert items, f"no attachment {name!r} in the message: {b.present('#attachment-list').text!r}"
            items[0].find_element("css selector", "a.dropdown").click()
            b.clickable("#attachmentmenu a.download").click()
            return b.wait_for_download(name, size, timeout)

    def _settings_saved(self, what: str) -> str:
        """Press the form's Save button; return the confirmation (AssertionError with the error shown)."""
        b = self.b
        b.clickable("button.btn.submit").click()

        def outcome(driver):
            for element in b.all("#messagestack div"):
                classes = element.get_attribute("class") or ""
                text = element.text.strip()
                if text and ("confirmation" in classes or "error" in classes or "warning" in classes):
                    return classes, text
            return False

        classes, text = b.wait(outcome, what=f"Roundcube's answer to the {what} form")
        if "confirmation" not in classes:
            raise AssertionError(f"Roundcube refused the {what} form: {text}")
        return text

    def set_vacation(self, subject: str, body: str, screenshot: bool = False) -> str:
        """Turn the out-of-office reply on (Settings > Out of Office); return Roundcube's confirmation."""
        from selenium.webdriver.support.ui import Select

        b = self.b
        with _screenshot_on_failure(b, "roundcube-vacation"):
            b.get("/?_task=settings&_action=plugin.managesieve-vacation")
            self.wait_ready()
            b.fill("#vacation_subject", subject)
            b.fill("#vacation_reason", body)
            Select(b.present("#vacation_status")).select_by_value("on")
            if screenshot:
                b.screenshot("roundcube-vacation")
            return self._settings_saved("vacation")

    def change_password(self, current: str, new: str, screenshot: bool = False) -> str:
        """Change the password in Settings > Password; return Roundcube's confirmation."""
        b = self.b
        with _screenshot_on_failure(b, "roundcube-password"):
            b.get("/?_task=settings&_action=plugin.password")
            self.wait_ready()
            b.fill("input[name=_curpasswd]", current)
            b.fill("input[name=_newpasswd]", new)
            b.fill("input[name=_confpasswd]", new)
            if screenshot:
                b.screenshot("roundcube-password")
            return self._settings_saved("password")
