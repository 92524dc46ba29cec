#!/usr/bin/env python3
"""How much huge multi-key commands hold up other clients' disk reads (a benchmark, not a test).

Starts the real cachesrvd twice: with the bulk lane (--bulk-command-keys 64, the default) and without it (a
threshold no command reaches). Each time, three clients each DEL N keys at once while a fourth client keeps reading
a key that lives only on disk (--l1-max-entries 1). Prints how many reads were served meanwhile and the worst read.

Usage: scripts/bench_bulk_lane.py [path-to-cachesrvd] [keys-per-DEL, default 300000]
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time


def encode(*args):
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def connect(path):
    for _ in range(300):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s
        except OSError:
            time.sleep(0.02)
    raise SystemExit("the server did not start")


def run(binary, keys, threshold):
    work = tempfile.mkdtemp(prefix="cachesrvd-bulk.")
    sock = os.path.join(work, "s.sock")
    server = subprocess.Popen(
        [binary, "--socket", sock, "--data-dir", work + "/data", "--l1-max-entries", "1",
         "--bulk-command-keys", str(threshold), "--log-level", "error"])
    try:
        reader = connect(sock)
        replies = reader.makefile("rb")
        reader.sendall(encode("SET", "on-disk", "http://10.0.0.1:1") + encode("SET", "in-l1", "http://10.0.0.2:1"))
        replies.readline(), replies.readline()
        finished = []

        def delete(index):
            s = connect(sock)
            s.sendall(encode("DEL", *["missing:%d:%d" % (index, k) for k in range(keys)]))
            s.makefile("rb").readline()
            finished.append(time.time())

        threads = [threading.Thread(target=delete, args=(i,)) for i in range(3)]
        start = time.time()
        for t in threads:
            t.start()
        time.sleep(0.5)
        worst, reads = 0.0, 0
        while len(finished) < 3:
            begin = time.time()
            reader.sendall(encode("GET", "on-disk"))
            replies.readline(), replies.readline()
            worst = max(worst, time.time() - begin)
            reads += 1
            reader.sendall(encode("GET", "in-l1"))  # puts the other key back in the one-entry L1
            replies.readline(), replies.readline()
        for t in threads:
            t.join()
        return time.time() - start, reads, worst
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/cachesrvd"
    keys = int(sys.argv[2]) if len(sys.argv) > 2 else 300_000
    for label, threshold in (("bulk lane (default)", 64), ("no bulk lane", 1 << 40)):
        took, reads, worst = run(binary, keys, threshold)
        print("%-20s 3 x DEL of %d keys took %.1f s; disk reads served meanwhile: %d; worst read %.3f s"
              % (label, keys, took, reads, worst))


if __name__ == "__main__":
    main()
