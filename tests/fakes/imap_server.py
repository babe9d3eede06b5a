"""A real IMAP4rev1 server on loopback for tests, speaking just what backroom's IMAP adapter sends through imaplib:
greeting, CAPABILITY, NOOP, LOGIN, SELECT, UID SEARCH UNSEEN, UID FETCH (BODY.PEEK[]), UID STORE +FLAGS, UID MOVE,
UID COPY, LOGOUT, and TLS (IMAPS, or STARTTLS) when given a certificate. Not a mock: the client talks IMAP over a
socket. Every command it receives is logged."""

from __future__ import annotations

import re
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|\([^)]*\)|[^\s()]+')


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class FakeImapServer:
    """``with FakeImapServer(...) as server``: serves on ``server.port`` until the block ends."""

    def __init__(self, username: str = "support@store.example", password: str = "imap-pass", *, move: bool = True,
                 tls: ssl.SSLContext | None = None, implicit_tls: bool = False) -> None:
        """``tls`` with ``implicit_tls``: IMAPS (TLS from the first byte); without: STARTTLS is offered."""
        self.username = username
        self.password = password
        self.tls = tls
        self.capabilities = "IMAP4rev1 UIDPLUS" + (" MOVE" if move else "") + (
            " STARTTLS" if tls and not implicit_tls else "")
        self.folders: dict[str, list[StoredMessage]] = {"INBOX": []}
        self.commands: list[str] = []  # "LOGIN", "UID FETCH", … in the order received
        self.lock = threading.Lock()
        self._next_uid = 1
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def setup(self) -> None:
                if tls is not None and implicit_tls:
                    self.request = tls.wrap_socket(self.request, server_side=True, do_handshake_on_connect=False)
                super().setup()

            def handle(self) -> None:
                if isinstance(self.request, ssl.SSLSocket) and not _handshake(self.request):
                    return
                session = _Session(fake, self.request, self.rfile, self.wfile)
                try:
                    session.run()
                finally:
                    session.close()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> FakeImapServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def deliver(self, raw: bytes, folder: str = "INBOX") -> int:
        """A message arrives (unseen); its UID."""
        with self.lock:
            uid = self._next_uid
            self._next_uid += 1
            self.folders.setdefault(folder, []).append(StoredMessage(uid, raw))
            return uid

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        with self.lock:
            return {m.uid: set(m.flags) for m in self.folders.get(folder, [])}

    def uids(self, folder: str) -> list[int]:
        with self.lock:
            return [m.uid for m in self.folders.get(folder, [])]


class _Session:
    def __init__(self, fake: FakeImapServer, sock: socket.socket, rfile: Any, wfile: Any) -> None:
        self.fake = fake
        self.sock = sock
        self.rfile = rfile
        self.wfile = wfile
        self.authenticated = False
        self.selected: str | None = None

    def run(self) -> None:
        self.send(b"* OK fake IMAP4rev1 server ready")
        while line := self.rfile.readline():
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            words = [_unquote(t) for t in _TOKEN.findall(rest)]
            if not words:
                self.send(tag + b" BAD empty command")
                continue
            name = words[0].upper()
            if name == b"UID" and len(words) > 1:
                name = b"UID " + words[1].upper()
                words = words[1:]
            with self.fake.lock:
                self.fake.commands.append(name.decode())
                done = self.answer(tag, name, words[1:])
            if done:
                return

    def close(self) -> None:
        """The TLS socket this session wrapped (socketserver closes only the one it accepted)."""
        if isinstance(self.sock, ssl.SSLSocket):
            for f in (self.rfile, self.wfile):
                f.close()
            self.sock.close()

    def answer(self, tag: bytes, name: bytes, args: list[bytes]) -> bool:
        if name == b"LOGOUT":
            self.send(b"* BYE logging out", tag + b" OK LOGOUT completed")
            return True
        if name == b"CAPABILITY":
            self.send(b"* CAPABILITY " + self.fake.capabilities.encode(), tag + b" OK CAPABILITY completed")
        elif name == b"NOOP":
            self.send(tag + b" OK NOOP completed")
        elif name == b"STARTTLS" and "STARTTLS" in self.fake.capabilities and self.fake.tls is not None:
            self.send(tag + b" OK begin TLS negotiation now")
            self.sock = self.fake.tls.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
            if not _handshake(self.sock):
                return True
            self.rfile, self.wfile = self.sock.makefile("rb"), self.sock.makefile("wb")
        elif name == b"LOGIN":
            self.login(tag, args)
        elif not self.authenticated:
            self.send(tag + b" BAD log in first")
        elif name == b"SELECT":
            self.select(tag, args[0].decode())
        elif self.selected is None:
            self.send(tag + b" BAD select a mailbox first")
        elif name == b"UID SEARCH" and [a.upper() for a in args] == [b"UNSEEN"]:
            unseen = [str(m.uid).encode() for m in self.mailbox() if "\\Seen" not in m.flags]
            self.send(b" ".join([b"* SEARCH", *unseen]), tag + b" OK SEARCH completed")
        elif name == b"UID FETCH" and args[1:] and args[1].upper() == b"(BODY.PEEK[])":
            for seq, m in self.matching(args[0]):
                self.send(b"* %d FETCH (UID %d BODY[] {%d}" % (seq, m.uid, len(m.raw)), end=b"\r\n")
                self.send(m.raw + b")")
            self.send(tag + b" OK FETCH completed")
        elif name == b"UID STORE" and args[1:2] == [b"+FLAGS"]:
            for seq, m in self.matching(args[0]):
                m.flags |= set(args[2].decode().strip("()").split())
                self.send(b"* %d FETCH (UID %d FLAGS (%s))" % (seq, m.uid, " ".join(sorted(m.flags)).encode()))
            self.send(tag + b" OK STORE completed")
        elif name in (b"UID MOVE", b"UID COPY") and len(args) == 2:
            self.copy(tag, args[0], args[1].decode(), move=name == b"UID MOVE")
        else:
            self.send(tag + b" BAD unknown command")
        return False

    def login(self, tag: bytes, args: list[bytes]) -> None:
        if args == [self.fake.username.encode(), self.fake.password.encode()]:
            self.authenticated = True
            self.send(tag + b" OK LOGIN completed")
        else:
            self.send(tag + b" NO [AUTHENTICATIONFAILED] Invalid credentials")

    def select(self, tag: bytes, folder: str) -> None:
        if folder not in self.fake.folders:
            self.selected = None
            self.send(tag + b" NO [NONEXISTENT] no such mailbox")
            return
        self.selected = folder
        self.send(b"* FLAGS (\\Seen \\Deleted)", b"* %d EXISTS" % len(self.mailbox()), b"* 0 RECENT",
                  b"* OK [UIDVALIDITY 1] UIDs valid", tag + b" OK [READ-WRITE] SELECT completed")

    def copy(self, tag: bytes, uids: bytes, folder: str, *, move: bool) -> None:
        if folder not in self.fake.folders:
            self.send(tag + b" NO [TRYCREATE] no such mailbox")
            return
        found = self.matching(uids)
        for _, m in found:
            self.fake.folders[folder].append(StoredMessage(m.uid, m.raw, set(m.flags)))
        if move:
            for seq, m in reversed(found):
                self.mailbox().remove(m)
                self.send(b"* %d EXPUNGE" % seq)
        self.send(tag + b" OK done")

    def mailbox(self) -> list[StoredMessage]:
        return self.fake.folders[str(self.selected)]

    def matching(self, uid_set: bytes) -> list[tuple[int, StoredMessage]]:
        wanted = {int(u) for u in uid_set.split(b",")}  # single UIDs and lists: all the adapter sends
        return [(seq, m) for seq, m in enumerate(self.mailbox(), start=1) if m.uid in wanted]

    def send(self, *lines: bytes, end: bytes = b"\r\n") -> None:
        self.wfile.write(b"".join(line + end for line in lines))
        self.wfile.flush()


def _handshake(sock: ssl.SSLSocket) -> bool:
    """False (and the socket closed) when the client refuses the certificate, as an untrusting client does."""
    try:
        sock.do_handshake()
    except (ssl.SSLError, OSError):
        sock.close()
        return False
    return True


def _unquote(token: bytes) -> bytes:
    if token.startswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", token[1:-1])
    return token
