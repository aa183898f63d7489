"""A real IMAP server on loopback for the tests: Debian's Dovecot, run in the foreground with a
configuration of its own in a temporary folder (one user, Maildir, IMAP with STARTTLS and IMAPS
with a trustme certificate). Skips the test when Dovecot is not installed, unless
AUTORELAY_TEST_DOVECOT=required (as in CI), where its absence is a failure."""

from __future__ import annotations

import imaplib
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import trustme

from tests.e2e.server import free_port

USER, PASSWORD = "bounces", "mailbox-secret"
DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)

CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def dovecot_or_skip() -> str:
    if DOVECOT is None:
        if os.environ.get("AUTORELAY_TEST_DOVECOT") == "required":
            pytest.fail("Dovecot is required here (apt-get install dovecot-imapd)")
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    return DOVECOT


class Dovecot:
    def __init__(self) -> None:
        self.binary = dovecot_or_skip()
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.port, self.tls_port = free_port(), free_port()
        self.ca = trustme.CA()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Dovecot:
        root = self.root
        for folder in ("run", "state", "mail", "home"):
            (root / folder).mkdir()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_pem.write_to_path(str(root / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
        (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        if os.geteuid() == 0:
            # Run as root (CI), Dovecot refuses to keep mail as root: its own user keeps it.
            import pwd

            user = group = "dovecot"
            entry = pwd.getpwnam("dovecot")
            uid, gid = entry.pw_uid, entry.pw_gid
            for folder in (root, root / "mail", root / "home"):
                os.chown(folder, uid, gid)
            os.chmod(root, 0o755)
        else:
            user, group, uid, gid = _name(), _group(), os.getuid(), os.getgid()
        (root / "dovecot.conf").write_text(
            CONFIG.format(root=root, port=self.port, tls_port=self.tls_port, uid=uid, gid=gid, user=user, group=group)
        )
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(root / "stderr.log").open("wb"),
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with self.client() as conn:
                    conn.noop()
                return self
            except (OSError, imaplib.IMAP4.error):
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.__exit__()
        raise AssertionError(f"Dovecot did not start: {self.logs()}")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if not os.environ.get("KEEP_DOVECOT"):
            shutil.rmtree(self.root, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.root.glob("*.log") if p.exists())

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(USER, PASSWORD)
        return conn

    def url(self, *, tls: bool = False, processed: str = "") -> str:
        scheme, port = ("imaps", self.tls_port) if tls else ("imap", self.port)
        return f"{scheme}://{USER}:{PASSWORD}@127.0.0.1:{port}/INBOX" + (f"?processed={processed}" if processed else "")

    def deliver(self, message: bytes, folder: str = "INBOX") -> None:
        """Put a message in the mailbox, as the MTA that receives for the bounce domain would."""
        with self.client() as conn:
            status, data = conn.append(folder, "", imaplib.Time2Internaldate(time.time()), message)
            assert status == "OK", data

    def count(self, folder: str = "INBOX", criteria: str = "ALL") -> int:
        with self.client() as conn:
            status, _ = conn.select(folder, readonly=True)
            if status != "OK":
                return 0
            _, data = conn.search(None, criteria)
            return len(data[0].split()) if data and data[0] else 0


def _name() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _group() -> str:
    import grp

    return grp.getgrgid(os.getgid()).gr_name
