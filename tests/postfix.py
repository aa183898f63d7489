"""A real Postfix on loopback for the tests: Debian's package, run as a private instance with its
own configuration, queue, ports and log in a temporary folder (never the system service). It
pipelines its replies, offers STARTTLS with a trustme certificate and SASL AUTH (answered by a
Dovecot of its own), and can deliver to a Maildir, bounce for real, relay through a smarthost or
route a domain elsewhere by a transport map. Skips the test when Postfix is not installed, unless
AUTORELAY_TEST_POSTFIX=required (as in CI), where its absence is a failure.

Also `smtp_sink()`: Postfix's smtp-sink, which accepts everything and answers like Postfix."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from tests.e2e.server import free_port

POSTFIX = shutil.which("postfix") or ("/usr/sbin/postfix" if Path("/usr/sbin/postfix").exists() else None)
SMTP_SINK = shutil.which("smtp-sink") or ("/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None)
USER, PASSWORD = "autorelay", "postfix-secret"
HOSTNAME = "mx.test"


def require(tool: str | None, name: str) -> str:
    if tool is None:
        if os.environ.get("AUTORELAY_TEST_POSTFIX") == "required":
            pytest.fail(f"{name} is required (AUTORELAY_TEST_POSTFIX=required) but is not installed")
        pytest.skip(f"{name} is not installed (apt-get install postfix)")
    return tool


MAIN_CF = """
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/lib
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = {hostname}
mydomain = {hostname}
myorigin = {hostname}
mydestination = localhost, {hostname}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = {root}/maillog
maillog_file_prefixes = /var, /dev/stdout, {root}
syslog_name = postfix-test
smtpd_tls_cert_file = {root}/tls/cert.pem
smtpd_tls_key_file = {root}/tls/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtp_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{auth_port}
smtpd_sasl_security_options = noanonymous
smtpd_tls_auth_only = yes
home_mailbox = Maildir/
mailbox_command =
virtual_mailbox_domains = {virtual_domains}
virtual_mailbox_base = {virtual_base}
virtual_mailbox_maps = static:{virtual_map}
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
transport_maps = texthash:{root}/etc/transport
bounce_queue_lifetime = 0
maximal_queue_lifetime = 1h
delay_warning_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""


AUTH_CONF = """
protocols = none
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovecot
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}
}}
service auth {{
  inet_listener {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


class Postfix:
    """`with Postfix(...) as mx:`; `mx.port` takes SMTP. `extra`: more main.cf lines (a role)."""

    def __init__(
        self,
        *,
        extra: str = "",
        transport: str = "",
        virtual_domains: str = "",
        refuse: tuple[str, ...] = (),
        extra_files: dict[str, str] | None = None,
        mailbox: tuple[Path, str, int, int] | None = None,
    ) -> None:
        """`refuse`: recipients smtpd refuses at RCPT with 550 5.1.1 (as a server without them).
        `extra_files`: more files in the configuration folder (maps); `{root}` in `extra` is the
        instance's folder. `mailbox`: (base, map, uid, gid) where virtual(8) delivers (another
        program's Maildir, such as Dovecot's); by default a Maildir of this instance's own."""
        require(POSTFIX, "postfix")
        self.refuse, self.extra_files, self.mailbox_setting = refuse, extra_files or {}, mailbox
        self.root = Path(tempfile.mkdtemp(prefix="postfix-"))
        self.port, self.auth_port = free_port(), free_port()
        self.ca = trustme.CA()
        self._auth: subprocess.Popen | None = None
        self.extra, self.transport, self.virtual_domains = extra, transport, virtual_domains

    def ca_file(self) -> str:
        path = self.root / "ca.pem"
        if not path.exists():
            self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def _configure(self) -> None:
        root = self.root
        root.chmod(0o755)
        for sub in ("etc", "spool", "lib", "tls", "virtual"):
            (root / sub).mkdir()
        postfix_user = pwd.getpwnam("postfix")
        os.chown(root / "lib", postfix_user.pw_uid, postfix_user.pw_gid)
        os.chown(root / "virtual", postfix_user.pw_uid, postfix_user.pw_gid)
        cert = self.ca.issue_cert(HOSTNAME, "127.0.0.1", "localhost")
        cert.private_key_pem.write_to_path(str(root / "tls" / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(root / "tls" / "cert.pem"))
        master = Path("/etc/postfix/master.cf").read_text()
        master = re.sub(r"(?m)^smtp\s+inet.*$", f"127.0.0.1:{self.port} inet n - n - - smtpd", master)
        if "postlog" not in master:
            master += "\npostlog unix-dgram n - n - 1 postlogd\n"
        (root / "etc" / "master.cf").write_text(master)
        base, mapped, uid, gid = self.mailbox_setting or (
            root / "virtual",
            "mailbox/",
            postfix_user.pw_uid,
            postfix_user.pw_gid,
        )
        main = MAIN_CF.format(
            root=root,
            hostname=HOSTNAME,
            virtual_base=base,
            virtual_map=mapped,
            uid=uid,
            gid=gid,
            virtual_domains=self.virtual_domains,
            auth_port=self.auth_port,
        )
        refused = "".join(f"{address} 550 5.1.1 <{address}>: no such user here\n" for address in self.refuse)
        (root / "etc" / "refused").write_text(refused)
        restrictions = f"smtpd_recipient_restrictions = check_recipient_access texthash:{root}/etc/refused, permit\n"
        (root / "etc" / "main.cf").write_text(main + restrictions + self.extra.replace("{root}", str(root)))
        for name, text in self.extra_files.items():
            (root / "etc" / name).write_text(text)
        (root / "etc" / "transport").write_text(self.transport)
        self._start_auth()

    def _start_auth(self) -> None:
        """Postfix's SASL is Dovecot's: a Dovecot of its own that only answers auth requests."""
        folder = self.root / "auth"
        for sub in ("run", "state"):
            (folder / sub).mkdir(parents=True)
        (folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (folder / "dovecot.conf").write_text(AUTH_CONF.format(root=folder, port=self.auth_port))
        dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self._auth = subprocess.Popen(
            [dovecot, "-F", "-c", str(folder / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "stderr.log").open("wb"),
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.auth_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"Dovecot (auth) did not start: {(folder / 'stderr.log').read_text()}")

    def postfix(self, *args: str) -> None:
        subprocess.run([POSTFIX or "postfix", "-c", str(self.root / "etc"), *args], check=True, capture_output=True)

    def __enter__(self) -> Postfix:
        self._configure()
        self.postfix("start")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(512).startswith(b"220"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"postfix did not start: {self.log()}")

    def __exit__(self, *exc) -> None:
        try:
            self.postfix("stop")
        except subprocess.CalledProcessError:
            pass
        if self._auth is not None:
            self._auth.terminate()
            self._auth.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def sendmail(self, message: bytes, *recipients: str, sender: str = "") -> None:
        """Submit a message through this instance's own sendmail (`-f` the envelope sender)."""
        command = ["sendmail", "-C", str(self.root / "etc"), "-i"]
        command += ["-f", sender] if sender else []
        subprocess.run([*command, *(recipients or ["-t"])], input=message, check=True, capture_output=True)

    def mailbox(self, user: str) -> list[bytes]:
        """The messages local(8) delivered to `user`'s Maildir (they arrive in new/)."""
        folder = self.root / "virtual" / "mailbox" / "new"
        return [p.read_bytes() for p in sorted(folder.glob("*"))] if folder.exists() else []

    def delivered(self) -> list[bytes]:
        """Every message delivered into the virtual Maildir, oldest first."""
        return self.mailbox("")

    def ehlo_features(self) -> str:
        import smtplib

        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            return client.ehlo()[1].decode()

    def flush(self) -> None:
        self.postfix("flush")


class SmtpSink:
    """Postfix's smtp-sink on a free port: takes everything, pipelines its replies like Postfix, and
    (with `dump`) writes each transaction to a file of its own, envelope first, in a folder of its
    own that the unprivileged user it runs as can reach."""

    def __init__(self, *, dump: bool = False, backlog: int = 100, data_delay: int = 0) -> None:
        """`data_delay`: seconds it waits before answering DATA (a slow server: senders hold their
        messages that long before the message itself goes)."""
        self.binary = require(SMTP_SINK, "smtp-sink")
        self.port, self.backlog, self.data_delay = free_port(), backlog, data_delay
        self.dump = Path(tempfile.mkdtemp(prefix="smtp-sink-")) if dump else None
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> SmtpSink:
        command = [self.binary, "-u", "nobody", "-c"] + (["-w", str(self.data_delay)] if self.data_delay else [])
        if self.dump is not None:
            self.dump.chmod(0o777)  # smtp-sink writes as nobody
            command += ["-d", f"{self.dump}/%H%M%S."]
        self._process = subprocess.Popen(
            [*command, f"127.0.0.1:{self.port}", str(self.backlog)], stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("smtp-sink did not start")

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(5)
        if self.dump is not None:
            shutil.rmtree(self.dump, ignore_errors=True)

    def count(self) -> int:
        """How many transactions were dumped so far."""
        assert self.dump is not None
        return sum(1 for _ in os.scandir(self.dump))

    def recipients(self) -> list[list[str]]:
        """Each dumped transaction's envelope recipients (read once the sending has ended)."""
        return [recipients for recipients, _ in self.transactions()]

    def transactions(self) -> list[tuple[list[str], bytes]]:
        """Each dumped transaction: its envelope recipients and what it holds (envelope, then the
        message)."""
        assert self.dump is not None
        found = []
        for entry in os.scandir(self.dump):
            with open(entry.path, "rb") as dumped:
                whole = dumped.read()
            head = whole[:4096].split(b"\nReceived:", 1)[0]
            found.append(([m.decode() for m in re.findall(rb"^X-Rcpt-Args: <([^>]*)>", head, re.M)], whole))
        return found


@contextmanager
def smtp_sink(*, backlog: int = 100) -> Iterator[int]:
    """smtp-sink keeping nothing, on a free port (yields the port)."""
    with SmtpSink(backlog=backlog) as sink:
        yield sink.port
