"""What the interop client scripts share: the data they send and the checker that reports each answer.

Every check prints `ok: <client> <check>` or `FAIL: <client> <check>: ...` with what was sent and what came back, and
the scripts go on past a failing check so one run shows everything. INTEROP_FAIL_FAST=1 stops at the first failure.
"""
import os
import sys
import traceback

# Every byte value, as a value, inside a key and inside a hash field value.
ALL_BYTES = bytes(range(256))
# Two keys that differ only in bytes that are not UTF-8: a server that decodes them (U+FFFD) merges them into one.
CLASHING_KEYS = (b"\xff\xfe", b"\xfe\xff")
# Fields beyond the entry's schema, as a rotator keeps them beside a proxy.
CUSTOM_FIELDS = {b"country": b"DE", b"protocol": b"socks5", b"anonymity": b"elite \xff\x00 bytes"}
PROXY_URL = b"http://10.9.0.1:3128"
# Not valid UTF-8, not printable: what a pickled object or a compressed value looks like to a server.
BINARY_VALUE = b"\x80\x04\x95\x00\xff\xfe\r\n$3\r\n\x00"


def forced_protocol() -> int | None:
    """The protocol INTEROP_FORCE_PROTOCOL asks for (a diagnostic, to see what lies behind a failing HELLO), or None."""
    value = os.environ.get("INTEROP_FORCE_PROTOCOL", "")
    return int(value) if value else None


def shown(value, limit: int = 700) -> str:
    """The repr of a value, cut to `limit` characters so a failure stays readable."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def prefixed(prefix: str, name: str) -> bytes:
    """A key of this client's own, so clients that run one after the other never meet (no glob characters)."""
    return f"{prefix}:{name}".encode()


class CheckFailed(Exception):
    """A check's answer was not the one expected."""


class Checker:
    """Runs named checks of one client, prints each outcome, and counts failures."""

    def __init__(self, client: str) -> None:
        self.client = client
        self.failures: list[str] = []
        self.passed = 0
        self.fail_fast = os.environ.get("INTEROP_FAIL_FAST", "") not in ("", "0")

    def equal(self, what: str, expected, actual) -> None:
        """Raises CheckFailed, naming what was asked and both values, unless expected == actual."""
        if expected != actual:
            raise CheckFailed(f"{what}: expected {shown(expected)}, got {shown(actual)}")

    def true(self, what: str, condition: bool, actual) -> None:
        """Raises CheckFailed with the actual value unless condition holds."""
        if not condition:
            raise CheckFailed(f"{what}: got {shown(actual)}")

    def _record(self, name: str, error: BaseException | None) -> None:
        if error is None:
            self.passed += 1
            print(f"ok: {self.client} {name}", flush=True)
            return
        if isinstance(error, CheckFailed):
            detail = str(error)
        else:
            # An exception from the client library: its type and text hold the server's error reply.
            detail = f"raised {type(error).__module__}.{type(error).__name__}: {error}"
            if os.environ.get("INTEROP_TRACEBACK"):
                detail += "\n" + "".join(traceback.format_exception(error))
        # A server's error text may echo binary bytes (a NUL, U+FFFD): escape them so the line stays one text line.
        line = f"FAIL: {self.client} {name}: {detail}"
        line = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in line)
        self.failures.append(line)
        print(line, flush=True)
        if self.fail_fast:
            self.finish()

    def error(self, name: str, error: BaseException) -> None:
        """Records a failure that happened outside a check (opening or closing a client)."""
        self._record(name, error)

    def run(self, name: str, function) -> bool:
        """Runs one synchronous check; returns whether it passed."""
        try:
            function()
        except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the others
            self._record(name, error)
            return False
        self._record(name, None)
        return True

    async def run_async(self, name: str, function) -> bool:
        """Runs one asynchronous check (a function returning a coroutine); returns whether it passed."""
        try:
            await function()
        except Exception as error:  # noqa: BLE001
            self._record(name, error)
            return False
        self._record(name, None)
        return True

    def skip_rest(self, reason: str) -> None:
        """Records that the remaining checks were not run, and why."""
        line = f"FAIL: {self.client} remaining checks skipped: {reason}"
        self.failures.append(line)
        print(line, flush=True)

    def finish(self) -> None:
        """Prints the client's summary and exits: 0 when every check passed, 1 otherwise."""
        print(f"{self.client}: {self.passed} checks ok, {len(self.failures)} failed", flush=True)
        sys.exit(1 if self.failures else 0)
