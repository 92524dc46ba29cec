"""A synchronous Redis client library (redis-py or its fork valkey-py) against a running cachesrvd.

    python scripts/interop_redis_py.py SOCKET_PATH [--module redis|valkey] [--expect-hiredis yes|no]

The client is made with its default constructor, only the socket path given: whatever protocol and parser the
library picks by itself is what is tested. Prints `ok:`/`FAIL:` lines (scripts/interop_common.py) and exits 1 when a
check failed.
"""
import argparse
import importlib
import time

from interop_common import (
    ALL_BYTES,
    BINARY_VALUE,
    CLASHING_KEYS,
    CUSTOM_FIELDS,
    PROXY_URL,
    Checker,
    forced_protocol,
    prefixed,
)


def raw_reply(client, *command):
    """Sends one command on a pooled connection and returns the parser's reply, before any response callback."""
    pool = client.connection_pool
    connection = pool.get_connection(command[0]) if client.__module__.startswith("valkey") else pool.get_connection()
    try:
        connection.send_command(*command)
        return connection.read_response()
    finally:
        pool.release(connection)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket")
    parser.add_argument("--module", default="redis", choices=["redis", "valkey"])
    parser.add_argument("--expect-hiredis", choices=["yes", "no"])
    options = parser.parse_args()
    lib = importlib.import_module(options.module)
    utils = importlib.import_module(f"{options.module}.utils")
    name = {"redis": "redis-py", "valkey": "valkey-py"}[options.module]
    label = f"{name}[sync{',hiredis' if options.expect_hiredis == 'yes' else ''}]"
    check = Checker(label)
    key_prefix = f"{name}-sync{'-hiredis' if options.expect_hiredis == 'yes' else ''}"

    def key(suffix: str) -> bytes:
        return prefixed(key_prefix, suffix)

    path = options.socket

    # valkey-py calls its C parser libvalkey.
    hiredis_available = getattr(utils, "HIREDIS_AVAILABLE", getattr(utils, "LIBVALKEY_AVAILABLE", None))
    if options.expect_hiredis is not None:
        check.run(
            "hiredis availability as expected",
            lambda: check.equal("utils.HIREDIS_AVAILABLE", options.expect_hiredis == "yes", hiredis_available),
        )

    extra = {} if forced_protocol() is None else {"protocol": forced_protocol()}
    if extra:
        label += f"[protocol={forced_protocol()} forced, not the default]"
        check.client = label
    r = lib.Redis(unix_socket_path=path, **extra)

    def connect():
        check.equal("PING", True, r.ping())

    if not check.run("connect and PING (default constructor)", connect):
        check.skip_rest("the first command failed")
        check.finish()

    connection = r.connection_pool.get_connection("PING") if options.module == "valkey" else None
    connection = connection or r.connection_pool.get_connection()
    protocol = int(getattr(connection, "protocol", 2) or 2)
    parser_name = type(connection._parser).__name__
    r.connection_pool.release(connection)
    print(
        f"info: {label} {lib.__version__}: protocol={protocol} parser={parser_name} "
        f"HIREDIS_AVAILABLE={hiredis_available}",
        flush=True,
    )
    if options.expect_hiredis is not None:
        check.run(
            "the parser in use is the one expected",
            lambda: check.equal("parser uses hiredis", options.expect_hiredis == "yes", "Hiredis" in parser_name),
        )

    def every_byte_value():
        check.equal("SET k <bytes 0x00-0xFF>", True, r.set(key("allbytes"), ALL_BYTES))
        check.equal("GET k", ALL_BYTES, r.get(key("allbytes")))
        check.equal("SET k <binary>", True, r.set(key("binary"), BINARY_VALUE))
        check.equal("GET k", BINARY_VALUE, r.get(key("binary")))

    def every_byte_key():
        k = key("key:") + ALL_BYTES
        r.delete(k)
        check.equal("SET <key of bytes 0x00-0xFF> v", True, r.set(k, b"v-allbytes"))
        check.equal("KEYS <prefix>key:*", [k], r.keys(key("key:*")))
        check.equal("GET <key of bytes 0x00-0xFF>", b"v-allbytes", r.get(k))
        check.equal("EXISTS <key of bytes 0x00-0xFF>", 1, r.exists(k))
        check.equal("DEL <key of bytes 0x00-0xFF>", 1, r.delete(k))
        check.equal("GET after DEL", None, r.get(k))

    def distinct_binary_keys():
        first, second = (key("clash:") + suffix for suffix in CLASHING_KEYS)
        r.set(first, b"first")
        r.set(second, b"second")
        check.equal(f"GET {first!r}", b"first", r.get(first))
        check.equal(f"GET {second!r}", b"second", r.get(second))

    def empty_value():
        check.equal('SET k ""', True, r.set(key("empty"), b""))
        check.equal("GET k", b"", r.get(key("empty")))
        check.equal("EXISTS k", 1, r.exists(key("empty")))

    def empty_key():
        check.equal('SET "" v', True, r.set(b"", b"empty-key"))
        check.equal('GET ""', b"empty-key", r.get(b""))
        check.equal('DEL ""', 1, r.delete(b""))

    def mset_mget():
        values = {key("m1"): BINARY_VALUE, key("m2"): b"", key("m3"): b"plain"}
        check.equal("MSET", True, r.mset(values))
        got = r.mget([key("m1"), key("m2"), key("m3"), key("m-missing")])
        check.equal("MGET m1 m2 m3 missing", [BINARY_VALUE, b"", b"plain", None], got)

    def hash_custom_fields():
        k = key("hash")
        r.delete(k)
        fields = {b"proxy_url": PROXY_URL, **CUSTOM_FIELDS}
        check.equal(f"HSET k {fields!r}", len(fields), r.hset(k, mapping=fields))
        check.equal("HGET k country", b"DE", r.hget(k, b"country"))
        check.equal("HGET k anonymity", CUSTOM_FIELDS[b"anonymity"], r.hget(k, b"anonymity"))
        everything = r.hgetall(k)
        check.true("HGETALL is a dict", isinstance(everything, dict), everything)
        for field, value in fields.items():
            check.equal(f"HGETALL k [{field!r}]", value, everything.get(field))
        check.equal("HDEL k country", 1, r.hdel(k, b"country"))
        check.equal("HGET k country after HDEL", None, r.hget(k, b"country"))
        check.true("HKEYS k lacks country after HDEL", b"country" not in r.hkeys(k), r.hkeys(k))

    def hash_binary_field():
        k = key("hash-binary")
        r.delete(k)
        r.hset(k, b"proxy_url", PROXY_URL)
        field = b"f\xff\x00\xfe"
        check.equal("HSET k <binary field> <binary value>", 1, r.hset(k, field, BINARY_VALUE))
        check.equal("HGET k <binary field>", BINARY_VALUE, r.hget(k, field))
        check.equal("HGETALL k [<binary field>]", BINARY_VALUE, r.hgetall(k).get(field))

    def counters():
        k = key("counter")
        r.set(k, b"10")
        check.equal("INCR k (10)", 11, r.incr(k))
        check.equal("DECR k", 10, r.decr(k))
        check.equal("INCRBY k 5", 15, r.incrby(k, 5))
        check.equal("DECRBY k 3", 12, r.decrby(k, 3))
        check.equal("GET k", b"12", r.get(k))
        r.delete(key("counter-new"))
        check.equal("INCR new key", 1, r.incr(key("counter-new")))

    def counter_error():
        k = key("not-a-number")
        r.set(k, b"abc")
        try:
            r.incr(k)
            raise AssertionError("INCR of 'abc' answered no error")
        except lib.ResponseError as error:
            check.true("INCR 'abc' error text", "not an integer" in str(error), str(error))
        check.equal("GET k after the error (connection still works)", b"abc", r.get(k))

    def expire_ttl():
        k = key("ttl")
        r.set(k, b"v")
        check.equal("TTL after SET without EX (kept until deleted)", -1, r.ttl(k))
        check.equal("EXPIRE k 100", True, r.expire(k, 100))
        ttl = r.ttl(k)
        check.true("TTL after EXPIRE 100 is in 1..100", 0 < ttl <= 100, ttl)
        check.equal("PERSIST k", True, r.persist(k))
        check.equal("TTL after PERSIST", -1, r.ttl(k))
        check.equal("TTL of a missing key", -2, r.ttl(key("ttl-missing")))
        r.set(k, b"v", ex=30)
        ttl = r.ttl(k)
        check.true("TTL after SET EX 30 is in 1..30", 0 < ttl <= 30, ttl)

    def px_expiry():
        k = key("short")
        check.equal("SET k v PX 200", True, r.set(k, b"v", px=200))
        deadline = time.monotonic() + 30
        while r.get(k) is not None:
            check.true("the key expires (waited 30 s at most)", time.monotonic() < deadline, r.pttl(k))
            time.sleep(0.05)
        check.equal("EXISTS after expiry", 0, r.exists(k))

    def pipeline():
        with r.pipeline(transaction=False) as pipe:
            for i in range(50):
                pipe.set(key(f"p:{i}"), b"\xff" + str(i).encode())
            for i in range(50):
                pipe.get(key(f"p:{i}"))
            results = pipe.execute()
        check.equal("50 SET replies", [True] * 50, results[:50])
        check.equal("50 GET replies", [b"\xff" + str(i).encode() for i in range(50)], results[50:])

    def transaction():
        k = key("tx")
        r.delete(key("tx-hash"))
        with r.pipeline(transaction=True) as pipe:
            pipe.set(k, b"5")
            pipe.incr(k)
            pipe.get(k)
            pipe.hset(key("tx-hash"), mapping={b"proxy_url": PROXY_URL, b"country": b"FR"})
            results = pipe.execute()
        check.equal("MULTI SET INCR GET HSET EXEC", [True, 6, b"6", 2], results)

    def watch_commits():
        k = key("watch-ok")
        r.set(k, b"1")
        with r.pipeline() as pipe:
            pipe.watch(k)
            current = int(pipe.get(k))
            pipe.multi()
            pipe.set(k, str(current + 1).encode())
            check.equal("WATCH k, GET k, MULTI, SET k, EXEC", [True], pipe.execute())
        check.equal("GET k after the transaction", b"2", r.get(k))

    def watch_aborts():
        k = key("watch-abort")
        r.set(k, b"start")
        other = lib.Redis(unix_socket_path=path, **extra)
        try:
            with r.pipeline() as pipe:
                pipe.watch(k)
                check.equal("GET k while watching", b"start", pipe.get(k))
                check.equal("another client's SET k", True, other.set(k, b"theirs"))
                pipe.multi()
                pipe.set(k, b"mine")
                try:
                    results = pipe.execute()
                    raise AssertionError(f"EXEC ran although the watched key changed: {results!r}")
                except lib.WatchError:
                    pass
        finally:
            other.close()
        check.equal("GET k after the aborted transaction", b"theirs", r.get(k))

    def resp3_map():
        client = r
        if protocol != 3:
            print(f"info: {label} defaults to protocol {protocol}; this check opts in with protocol=3", flush=True)
            client = lib.Redis(unix_socket_path=path, protocol=3)
        k = key("map")
        client.hset(k, mapping={b"proxy_url": PROXY_URL, b"country": b"NL"})
        raw = raw_reply(client, "HGETALL", k)
        check.true("raw HGETALL reply is a RESP3 map (dict)", isinstance(raw, dict), raw)
        check.equal("map[country]", b"NL", raw.get(b"country"))
        hello = raw_reply(client, "HELLO", 3)
        check.true("raw HELLO 3 reply is a map", isinstance(hello, dict), hello)
        check.equal("HELLO 3 map[proto]", 3, hello.get(b"proto"))
        if client is not r:
            client.close()

    def scan():
        keys = set(r.scan_iter(match=key("p:*"), count=7))
        check.equal("SCAN MATCH p:* COUNT 7", {key(f"p:{i}") for i in range(50)}, keys)

    check.run("SET/GET values of every byte 0x00-0xFF", every_byte_value)
    check.run("SET/GET/EXISTS/DEL a key of every byte 0x00-0xFF", every_byte_key)
    check.run("binary keys that differ only in non-UTF-8 bytes stay distinct", distinct_binary_keys)
    check.run("SET/GET the empty string", empty_value)
    check.run("SET/GET/DEL the empty key", empty_key)
    check.run("MSET/MGET", mset_mget)
    check.run("HSET/HGET/HGETALL/HDEL with custom fields", hash_custom_fields)
    check.run("HSET/HGET a binary field name and value", hash_binary_field)
    check.run("INCR/DECR/INCRBY/DECRBY", counters)
    check.run("INCR of a non-integer answers an error", counter_error)
    check.run("EXPIRE/TTL/PERSIST", expire_ttl)
    check.run("SET PX expires", px_expiry)
    check.run("pipeline (no transaction)", pipeline)
    check.run("transaction: pipeline(transaction=True)", transaction)
    check.run("WATCH: an optimistic transaction commits", watch_commits)
    check.run("WATCH: another client's write aborts EXEC", watch_aborts)
    check.run("RESP3: HGETALL comes back as a map", resp3_map)
    check.run("SCAN MATCH", scan)
    r.close()
    check.finish()


if __name__ == "__main__":
    main()
