#!/usr/bin/env python3
"""Soak test: many short connections with random traffic must not grow cachesrvd's resident memory.

Usage: scripts/soak.py PATH-TO-CACHESRVD [--connections 100000] [--max-growth-mb 10] ...

Starts the real server on a socket and data directory in a fresh temporary directory, then:

1. fills a bounded key space (the same fill runs again before the final figure, so the cache holds the same
   entries at both measurements and only what the connections left behind counts);
2. warms up with --warmup connections of the random mix below, lets the server settle, reads the baseline VmRSS
   from /proc/PID/status;
3. opens --connections short connections from --workers processes in parallel. Each one does one of:
   pipelined SET/GET/HSET/DEL/ECHO/EXISTS/TTL/PING (checking every reply), a request of up to 1 MB (ECHO or SET),
   nothing at all, an unfinished bulk then a disconnect, random bytes, a QUIT (checking the server closes);
4. refills, settles, reads the final VmRSS and fails (exit 1) when it grew by more than --max-growth-mb, when the
   server died, or when a well-formed conversation went wrong (a wrong reply, a hang, a reset).

Count and time bounded: it stops launching connections after --max-seconds and fails then (the acceptance asks for
the full count); it gives up at once if the server's memory grows by more than --abort-growth-mb, so a leaking
build cannot take the machine down. Python 3 standard library only.
"""

import argparse
import collections
import multiprocessing
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

KEYS = 256  # small entries soak:0 .. soak:255
BIG_KEYS = 4  # entries of up to 1 MB: soak:big:0 .. soak:big:3
BIG_MAX = 1024 * 1024
IO_TIMEOUT = 60.0  # seconds a well-formed conversation may wait for a reply before it counts as a hang


Phase = collections.namedtuple("Phase", "done kinds failures failure_count aborted elapsed")


class Conversation(Exception):
    """A well-formed conversation went wrong: a wrong reply, a hang or an unexpected close."""


def command(*parts):
    """Encodes one multibulk request."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        if isinstance(part, str):
            part = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class Reader:
    """Reads RESP2 replies from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise Conversation("server closed the connection before replying")
        self.buffer += chunk

    def _line(self):
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 2]
                return line
            self._fill()

    def _exactly(self, count):
        while len(self.buffer) < count + 2:
            self._fill()
        data = bytes(self.buffer[:count])
        del self.buffer[: count + 2]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-", b":"):
            return line
        if kind == b"$":
            length = int(rest)
            return None if length < 0 else self._exactly(length)
        if kind == b"*":
            length = int(rest)
            return None if length < 0 else [self.reply() for _ in range(length)]
        raise Conversation("not a RESP reply: %r" % line[:80])

    def expect_eof(self):
        """The server must close the connection now (after QUIT)."""
        if self.buffer:
            raise Conversation("bytes after the last reply: %r" % bytes(self.buffer[:80]))
        if self.sock.recv(1):
            raise Conversation("the server did not close after QUIT")


def connect(path, timeout=IO_TIMEOUT):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def small_value(rng):
    return "http://10.%d.%d.%d:%d/%s" % (
        rng.randrange(256),
        rng.randrange(256),
        rng.randrange(256),
        rng.randrange(1, 65536),
        "p" * rng.randrange(0, 400),
    )


def big_value(size):
    head = b"http://10.9.9.9:8080/"
    return head + b"b" * (size - len(head))


def random_commands(rng):
    """1 to 12 random commands, each with the check its reply must pass."""
    commands = []
    for _ in range(rng.randrange(1, 13)):
        key = "soak:%d" % rng.randrange(KEYS)
        pick = rng.random()
        if pick < 0.25:
            commands.append((command("SET", key, small_value(rng)), lambda r: r == b"+OK"))
        elif pick < 0.45:
            # b"": a key HSET made without proxy_url has an empty string value.
            commands.append((command("GET", key), lambda r: r is None or r == b"" or r.startswith(b"http://")))
        elif pick < 0.60:
            field, value = rng.choice([("source", "feed%d" % rng.randrange(8)), ("proxy_url", small_value(rng))])
            # HSET of an absent key without proxy_url makes an entry with an empty proxy_url.
            commands.append((command("HSET", key, field, value), lambda r: r[:1] == b":"))
        elif pick < 0.70:
            commands.append((command("DEL", key), lambda r: r in (b":0", b":1")))
        elif pick < 0.85:
            text = rng.randbytes(rng.randrange(0, 2048))
            commands.append((command("ECHO", text), lambda r, text=text: r == text))
        elif pick < 0.90:
            commands.append((command("EXISTS", key), lambda r: r in (b":0", b":1")))
        elif pick < 0.95:
            commands.append((command("TTL", key), lambda r: r[:1] == b":"))
        else:
            commands.append((command("PING"), lambda r: r == b"+PONG"))
    return commands


def converse(path, commands, quit=False):
    """Sends the commands pipelined (with QUIT last if asked), checks every reply, closes."""
    with connect(path) as sock:
        payload = b"".join(request for request, _ in commands)
        if quit:
            payload += command("QUIT")
        sock.sendall(payload)
        reader = Reader(sock)
        for request, check in commands:
            reply = reader.reply()
            if not check(reply):
                shown = reply[:80] if isinstance(reply, bytes) else reply
                raise Conversation("unexpected reply %r to %r" % (shown, request[:60]))
        if quit:
            if reader.reply() != b"+OK":
                raise Conversation("QUIT did not answer +OK")
            reader.expect_eof()


def abandon(path, payload, read_reply=False):
    """Sends bytes that are not a complete request (or not a request at all) and goes away."""
    with connect(path) as sock:
        try:
            sock.sendall(payload)
            if read_reply:
                # Half-closed: the server must answer what it can, then close.
                sock.shutdown(socket.SHUT_WR)
                while sock.recv(65536):
                    pass
        except ConnectionError:
            pass  # the server may close first (a protocol error); losing that race is fine
        except socket.timeout:
            raise Conversation("the server neither answered nor closed within %.0f s" % IO_TIMEOUT)


def one_connection(path, rng):
    """One random connection; returns its kind."""
    pick = rng.random()
    if pick < 0.60:
        converse(path, random_commands(rng))
        return "pipelined"
    if pick < 0.66:
        converse(path, random_commands(rng), quit=True)
        return "quit"
    if pick < 0.71:
        with connect(path):
            pass
        return "idle"
    if pick < 0.74:
        size = rng.randrange(64 * 1024, BIG_MAX + 1)
        if rng.random() < 0.7:
            text = rng.randbytes(64) * (size // 64)
            converse(path, [(command("ECHO", text), lambda r: r == text)])
        else:
            key = "soak:big:%d" % rng.randrange(BIG_KEYS)
            converse(path, [(command("SET", key, big_value(size)), lambda r: r == b"+OK")])
        return "large"
    if pick < 0.87:
        # An unfinished bulk: the length of a value of up to 1 MB, then only part of it, then gone.
        size = rng.randrange(1, BIG_MAX + 1)
        key = b"soak:%d" % rng.randrange(KEYS)
        head = b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n" % (len(key), key, size)
        abandon(path, head + b"x" * rng.randrange(0, size))
        return "unfinished"
    garbage = rng.randbytes(rng.randrange(1, 4096))
    if rng.random() < 0.3:
        garbage = b"*" + garbage  # a multibulk header gone wrong
    abandon(path, garbage, read_reply=rng.random() < 0.5)
    return "garbage"


def worker(path, index, count, seed, deadline, progress, results):
    rng = random.Random(seed * 1000 + index)
    kinds, failures, failure_count, done = {}, [], 0, 0
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            try:
                kind = one_connection(path, rng)
                kinds[kind] = kinds.get(kind, 0) + 1
            except (Conversation, OSError, ValueError) as error:
                failure_count += 1
                if len(failures) < 20:
                    failures.append("%s: %s" % (type(error).__name__, error))
            done += 1
            if done % 100 == 0:
                with progress.get_lock():
                    progress.value += 100
    except BaseException as error:  # reported, never lost: the main process waits for every worker's result
        failure_count += 1
        failures.append("worker %d stopped: %s: %s" % (index, type(error).__name__, error))
    finally:
        with progress.get_lock():
            progress.value += done % 100
        results.put((index, done, kinds, failures, failure_count))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def fill(path):
    """Writes every soak key, the big ones at their largest, so both measurements see the same cache."""
    with connect(path) as sock:
        reader = Reader(sock)
        for start in range(0, KEYS, 64):
            batch = [command("SET", "soak:%d" % i, "http://10.0.0.1:%d/" % (i + 1)) for i in range(start, start + 64)]
            sock.sendall(b"".join(batch))
            for _ in batch:
                if reader.reply() != b"+OK":
                    raise Conversation("fill: SET failed")
        for i in range(BIG_KEYS):
            sock.sendall(command("SET", "soak:big:%d" % i, big_value(BIG_MAX)))
            if reader.reply() != b"+OK":
                raise Conversation("fill: SET of 1 MB failed")


class Soak:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="cachesrvd-soak.")
        self.socket = os.path.join(self.work, "s.sock")
        self.log = os.path.join(self.work, "server.log")
        self.server = None
        self.peak = 0

    def start(self):
        extra = self.args.server_arg or []
        with open(self.log, "wb") as log:
            self.server = subprocess.Popen(
                [self.args.cachesrvd, "--socket", self.socket, "--data-dir", os.path.join(self.work, "data")]
                + ["--log-level", "warning"]
                + extra,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise SystemExit("FAIL: the server exited at start:\n" + self.log_tail())
            try:
                converse(self.socket, [(command("PING"), lambda r: r == b"+PONG")])
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("FAIL: the server did not answer PING within 60 s")

    def log_tail(self):
        try:
            with open(self.log, "rb") as log:
                return b"".join(log.readlines()[-20:]).decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    def rss(self):
        if self.server.poll() is not None:
            raise SystemExit("FAIL: the server died (exit %s):\n%s" % (self.server.returncode, self.log_tail()))
        return rss_kb(self.server.pid)

    def settle(self):
        """Waits --settle seconds with no traffic; returns the last resident size, in KB."""
        deadline = time.monotonic() + self.args.settle
        value = self.rss()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            value = self.rss()
        return value

    def run_phase(self, count, seed, baseline=None):
        """Runs `count` connections from the workers, watching the server's memory when `baseline` is given."""
        args = self.args
        context = multiprocessing.get_context("fork")
        progress = context.Value("q", 0)
        results = context.Queue()
        deadline = time.monotonic() + args.max_seconds
        shares = [count // args.workers + (1 if i < count % args.workers else 0) for i in range(args.workers)]
        processes = [
            context.Process(target=worker, args=(self.socket, i, shares[i], seed, deadline, progress, results))
            for i in range(args.workers)
        ]
        for process in processes:
            process.daemon = True  # never outlives the soak
            process.start()
        started, last_report, aborted = time.monotonic(), 0.0, None
        while any(process.is_alive() for process in processes) and results.qsize() < len(processes):
            time.sleep(0.5)
            rss = self.rss()
            self.peak = max(self.peak, rss)
            now = time.monotonic()
            if baseline is not None and rss - baseline > args.abort_growth_mb * 1024:
                aborted = "resident memory grew by %.0f MB, more than --abort-growth-mb %d" % (
                    (rss - baseline) / 1024,
                    args.abort_growth_mb,
                )
                break
            if now - last_report >= args.report_every:
                last_report = now
                print(
                    "  %7d connections  %6.1f s  VmRSS %8.1f MB" % (progress.value, now - started, rss / 1024),
                    flush=True,
                )
        if aborted:
            for process in processes:
                process.terminate()
        done, kinds, failures, failure_count = 0, {}, [], 0
        for _ in processes:
            if aborted:
                break
            try:
                index, n, k, f, fc = results.get(timeout=IO_TIMEOUT * 2)
            except queue.Empty:
                failures.append("a worker process ended without a result")
                failure_count += 1
                continue
            done += n
            for key, value in k.items():
                kinds[key] = kinds.get(key, 0) + value
            failures += f
            failure_count += fc
        for process in processes:
            # A worker terminated mid-way may never end by itself: bounded, then killed.
            process.join(timeout=IO_TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join()
        if aborted:
            # A worker terminated while holding the counter's lock leaves it held: never wait on it.
            lock = progress.get_lock()
            if lock.acquire(timeout=1):
                done = progress.value
                lock.release()
            else:
                done = -1
        return Phase(done, kinds, failures, failure_count, aborted, time.monotonic() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cachesrvd", help="path to the cachesrvd binary")
    parser.add_argument("--connections", type=int, default=100_000, help="connections to open (default 100000)")
    parser.add_argument("--warmup", type=int, default=3_000, help="warm-up connections before the baseline")
    parser.add_argument("--workers", type=int, default=4, help="client processes in parallel (default 4)")
    parser.add_argument("--max-growth-mb", type=float, default=10, help="allowed VmRSS growth, MB (default 10)")
    parser.add_argument("--abort-growth-mb", type=int, default=2048, help="give up at once beyond this growth, MB")
    parser.add_argument("--max-seconds", type=float, default=900, help="stop launching connections after this")
    parser.add_argument("--settle", type=float, default=5, help="seconds without traffic before each measurement")
    parser.add_argument("--report-every", type=float, default=10, help="seconds between progress lines")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: printed, from the clock)")
    parser.add_argument("--server-arg", action="append", help="extra argument for cachesrvd (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (socket, data, log)")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = int(time.time()) % 1_000_000
    if args.workers < 1 or args.connections < 0 or args.warmup < 0:
        parser.error("--workers must be at least 1; counts must not be negative")

    soak = Soak(args)
    try:
        print("soak: %s, %d connections, %d workers, seed %d"
              % (args.cachesrvd, args.connections, args.workers, args.seed))
        return measure(soak, args)
    except (Conversation, OSError) as error:
        print("FAIL: %s: %s\n%s" % (type(error).__name__, error, soak.log_tail()))
        return 1
    finally:
        soak.stop()


def measure(soak, args):
    """Warm-up, baseline, the connections, final figure; returns the exit status."""
    soak.start()
    start_rss = soak.rss()
    fill(soak.socket)
    warm = soak.run_phase(args.warmup, args.seed + 1)
    if warm.failure_count or warm.aborted:
        print("FAIL: the warm-up went wrong (%s), e.g.:\n  %s"
              % (warm.aborted or "%d conversations" % warm.failure_count, "\n  ".join(warm.failures[:5])))
        return 1
    fill(soak.socket)
    baseline = soak.settle()
    print("VmRSS at start %.1f MB, after %d warm-up connections %.1f MB (baseline)"
          % (start_rss / 1024, warm.done, baseline / 1024), flush=True)

    soak.peak = baseline
    run = soak.run_phase(args.connections, args.seed, baseline)
    if not run.aborted:
        fill(soak.socket)
    final = soak.settle()
    growth_mb = (final - baseline) / 1024
    print("%d connections in %.1f s (%.0f/s): %s"
          % (run.done, run.elapsed, run.done / max(run.elapsed, 0.001),
             ", ".join("%s %d" % kind for kind in sorted(run.kinds.items()))))
    print("VmRSS baseline %.1f MB, peak %.1f MB, final %.1f MB after a %.0f s settle: growth %+.1f MB (limit %.1f)"
          % (baseline / 1024, soak.peak / 1024, final / 1024, args.settle, growth_mb, args.max_growth_mb))
    problems = []
    if run.aborted:
        problems.append(run.aborted)
    if run.failure_count:
        problems.append("%d well-formed conversations went wrong, e.g.:\n  %s"
                        % (run.failure_count, "\n  ".join(run.failures[:10])))
    if not run.aborted and run.done < args.connections:
        problems.append("only %d of %d connections before --max-seconds %.0f"
                        % (run.done, args.connections, args.max_seconds))
    if growth_mb > args.max_growth_mb:
        problems.append("resident memory grew by %.1f MB, more than --max-growth-mb %.1f"
                        % (growth_mb, args.max_growth_mb))
    for problem in problems:
        print("FAIL: " + problem)
    print("soak failed" if problems else "PASS")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
