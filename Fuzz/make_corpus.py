#!/usr/bin/env python3
"""Writes the seed corpora and the dictionary under Fuzz/ (run it after changing the seeds; commit the output).

corpus/request-parser/: FuzzInput's layout (an options byte, chunk-size bytes, then the payload).
corpus/commands/: what one client sends.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def multibulk(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


SESSIONS = {
    "inline-ping": b"PING\r\n",
    "inline-lf-only": b"PING\nECHO hi\n",
    "inline-quotes": b'SET "k 1" "http://a:1\\x41\\n" EX 10\r\nGET \'k 1\'\r\n',
    "inline-blank-lines": b"\r\n\r\n  \r\nPING\r\n",
    "multibulk-get-set": multibulk("SET", "p1", "http://10.0.0.1:3128", "EX", "600") + multibulk("GET", "p1"),
    "multibulk-empty-and-negative": b"*0\r\n*-1\r\n" + multibulk("PING"),
    "multibulk-binary": multibulk(b"ECHO", bytes(range(256))),
    "big-bulk": multibulk("ECHO", "x" * 5000),
    "pipeline-mixed": b"PING\r\n" + multibulk("ECHO", "a") + b"ECHO b\r\n" + multibulk("DBSIZE"),
    "hello-auth-client": multibulk("HELLO", "2") + multibulk("HELLO", "3") + multibulk("AUTH", "default", "x")
    + multibulk("CLIENT", "SETNAME", "rotator") + multibulk("CLIENT", "SETINFO", "LIB-NAME", "redis-py")
    + multibulk("CLIENT", "GETNAME") + multibulk("CLIENT", "ID") + multibulk("CLIENT", "LIST")
    + multibulk("CLIENT", "INFO") + multibulk("SELECT", "0"),
    "multi-exec": multibulk("MULTI") + multibulk("SET", "a", "http://a:1") + multibulk("INCR", "a")
    + multibulk("GET", "a") + multibulk("EXEC") + multibulk("MULTI") + multibulk("GET", "a") + multibulk("EXEC"),
    "multi-discard": multibulk("MULTI") + multibulk("HSET", "b", "proxy_url", "http://b:2") + multibulk("DISCARD")
    + multibulk("EXEC") + multibulk("DISCARD") + multibulk("MULTI") + multibulk("MULTI"),
    "put-health-history": multibulk(
        "PUT", "p1", "http://10.0.0.1:3128", "username", "alice", "password", "s3cret", "source", "feedA"
    ) + multibulk("HEALTH", "p1", "fail", "1200", "connect timeout", "https://check.example")
    + multibulk("HEALTH", "p1", "ok", "35") + multibulk("HISTORY", "p1") + multibulk("HGETALL", "p1")
    + multibulk("TTL", "p1"),
    "hashes": multibulk("HSET", "h", "proxy_url", "http://h:1", "source", "s", "failure_count", "2")
    + multibulk("HMSET", "h", "health_status", "healthy") + multibulk("HGET", "h", "source")
    + multibulk("HMGET", "h", "source", "nope") + multibulk("HKEYS", "h") + multibulk("HVALS", "h")
    + multibulk("HLEN", "h") + multibulk("HEXISTS", "h", "source") + multibulk("HDEL", "h", "source")
    + multibulk("TYPE", "h"),
    "keyspace": multibulk("MSET", "a", "http://a:1", "b", "http://b:1") + multibulk("MGET", "a", "b", "c")
    + multibulk("EXISTS", "a", "b", "c") + multibulk("EXPIRE", "a", "1", "NX") + multibulk("PEXPIRE", "b", "1500")
    + multibulk("PTTL", "b") + multibulk("PERSIST", "b") + multibulk("KEYS", "*") + multibulk(
        "SCAN", "0", "MATCH", "[ab]*", "COUNT", "10", "TYPE", "hash"
    ) + multibulk("DEL", "a", "b") + multibulk("UNLINK", "c") + multibulk("GETDEL", "a"),
    "set-options": multibulk("SET", "k", "http://k:1", "NX", "GET", "PX", "100")
    + multibulk("SET", "k", "http://k:2", "XX", "KEEPTTL") + multibulk("SET", "k", "http://k:3", "EXAT", "1764000100")
    + multibulk("SET", "k", "http://k:4", "PXAT", "9999999999999999") + multibulk("SET", "k", "v", "EX", "-1"),
    "server": multibulk("INFO") + multibulk("INFO", "cache") + multibulk("STATS") + multibulk("SIZE")
    + multibulk("CLEANUP") + multibulk("DBSIZE") + multibulk("CONFIG", "GET", "*") + multibulk("COMMAND", "COUNT")
    + multibulk("COMMAND", "INFO", "get") + multibulk("COMMAND", "DOCS", "set") + multibulk("FLUSHDB", "ASYNC")
    + multibulk("FLUSHALL", "SYNC"),
    "quit-then-more": multibulk("PING") + multibulk("QUIT") + multibulk("SET", "x", "http://x:1"),
    "unknown-and-arity": multibulk("NOPE", "a", "b") + multibulk("GET") + multibulk("GET", "a", "b"),
    "protocol-error": multibulk("PING") + b"*1\r\n$x\r\nPING\r\n",
}


def write(directory, name, data):
    path = os.path.join(HERE, "corpus", directory)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


for name, data in SESSIONS.items():
    write("commands", name, data)
    write("request-parser", name, b"\x00" + data)
# A few chunkings and limits presets for the parser: (options, chunk sizes - 1).
write("request-parser", "chunks-1-2-3", bytes([0x30, 0, 1, 2]) + SESSIONS["pipeline-mixed"])
write("request-parser", "small-limits", bytes([0x01]) + SESSIONS["multibulk-get-set"])
write("request-parser", "tiny-limits-compact", bytes([0x1B, 4]) + SESSIONS["inline-quotes"])
write("request-parser", "unauthenticated", bytes([0x04]) + multibulk(*(["x"] * 11)) + multibulk("ECHO", "y" * 17000))

TOKENS = [b"\r\n", b"*", b"$", b"*1\r\n", b"*2\r\n", b"*3\r\n", b"$0\r\n", b"$1\r\n", b"$-1\r\n", b"*-1\r\n",
          b"\"", b"'", b"\\x", b"\\", b"\x00", b" ", b"\t", b"65536", b"-1", b"9223372036854775807",
          b"EX", b"PX", b"EXAT", b"PXAT", b"NX", b"XX", b"GT", b"LT", b"KEEPTTL", b"GET", b"MATCH", b"COUNT",
          b"TYPE", b"ASYNC", b"SYNC", b"SETNAME", b"SETINFO", b"LIB-NAME", b"LIB-VER", b"LIST", b"ID", b"INFO",
          b"DOCS", b"ok", b"fail", b"http://10.0.0.1:3128", b"proxy_url", b"username", b"password", b"source",
          b"health_status", b"failure_count", b"expires_at", b"ttl_seconds", b"last_health_error"]
COMMANDS = ["put", "health", "history", "cleanup", "stats", "size", "ping", "echo", "quit", "select", "auth",
            "hello", "client", "hset", "hmset", "hget", "hmget", "hgetall", "hkeys", "hvals", "hlen", "hexists",
            "hdel", "del", "unlink", "exists", "type", "expire", "pexpire", "ttl", "pttl", "persist", "keys", "scan",
            "info", "dbsize", "flushall", "flushdb", "config", "command", "set", "get", "getdel", "mset", "mget",
            "multi", "exec", "discard"]


def escape(token):
    return "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else "\\x%02x" % b for b in token)


with open(os.path.join(HERE, "resp.dict"), "w") as f:
    f.write("# RESP tokens and cachesrvd's command names for libFuzzer (-dict); written by make_corpus.py.\n")
    for token in TOKENS + [c.upper().encode() for c in COMMANDS]:
        f.write('"%s"\n' % escape(token))
    for c in COMMANDS:
        f.write('"%s"\n' % escape(b"$%d\r\n%s\r\n" % (len(c), c.upper().encode())))
