"""coredis (an asyncio client that speaks only RESP3) against a running cachesrvd.

    python scripts/interop_coredis.py SOCKET_PATH

The client is made with its default constructor, only the socket path given, and used as the async context manager
coredis 6 requires. Prints `ok:`/`FAIL:` lines (scripts/interop_common.py) and exits 1 when a check failed.
"""
import asyncio
import sys

import coredis
import coredis.exceptions
from interop_common import (
    ALL_BYTES,
    BINARY_VALUE,
    CLASHING_KEYS,
    CUSTOM_FIELDS,
    PROXY_URL,
    Checker,
    prefixed,
)

LABEL = "coredis"


def key(suffix: str) -> bytes:
    return prefixed(LABEL, suffix)


async def checks(check: Checker, r, path: str) -> None:
    async def every_byte_value():
        check.equal("SET k <bytes 0x00-0xFF>", True, await r.set(key("allbytes"), ALL_BYTES))
        check.equal("GET k", ALL_BYTES, await r.get(key("allbytes")))
        check.equal("SET k <binary>", True, await r.set(key("binary"), BINARY_VALUE))
        check.equal("GET k", BINARY_VALUE, await r.get(key("binary")))

    async def every_byte_key():
        k = key("key:") + ALL_BYTES
        await r.delete([k])
        check.equal("SET <key of bytes 0x00-0xFF> v", True, await r.set(k, b"v-allbytes"))
        check.equal("KEYS <prefix>key:*", {k}, set(await r.keys(key("key:*"))))
        check.equal("GET <key of bytes 0x00-0xFF>", b"v-allbytes", await r.get(k))
        check.equal("EXISTS <key of bytes 0x00-0xFF>", 1, await r.exists([k]))
        check.equal("DEL <key of bytes 0x00-0xFF>", 1, await r.delete([k]))

    async def distinct_binary_keys():
        first, second = (key("clash:") + suffix for suffix in CLASHING_KEYS)
        await r.set(first, b"first")
        await r.set(second, b"second")
        check.equal(f"GET {first!r}", b"first", await r.get(first))
        check.equal(f"GET {second!r}", b"second", await r.get(second))

    async def empty_value():
        check.equal('SET k ""', True, await r.set(key("empty"), b""))
        check.equal("GET k", b"", await r.get(key("empty")))

    async def mset_mget():
        values = {key("m1"): BINARY_VALUE, key("m2"): b"", key("m3"): b"plain"}
        check.equal("MSET", True, await r.mset(values))
        got = await r.mget([key("m1"), key("m2"), key("m3"), key("m-missing")])
        check.equal("MGET m1 m2 m3 missing", (BINARY_VALUE, b"", b"plain", None), tuple(got))

    async def hash_custom_fields():
        k = key("hash")
        await r.delete([k])
        fields = {b"proxy_url": PROXY_URL, **CUSTOM_FIELDS}
        check.equal(f"HSET k {fields!r}", len(fields), await r.hset(k, fields))
        check.equal("HGET k country", b"DE", await r.hget(k, b"country"))
        everything = await r.hgetall(k)
        check.true("HGETALL is a dict", isinstance(everything, dict), everything)
        for field, value in fields.items():
            check.equal(f"HGETALL k [{field!r}]", value, everything.get(field))
        check.equal("HDEL k country", 1, await r.hdel(k, [b"country"]))
        check.equal("HGET k country after HDEL", None, await r.hget(k, b"country"))

    async def counters():
        k = key("counter")
        await r.set(k, b"10")
        check.equal("INCR k (10)", 11, await r.incr(k))
        check.equal("DECR k", 10, await r.decr(k))
        check.equal("INCRBY k 5", 15, await r.incrby(k, 5))
        check.equal("DECRBY k 3", 12, await r.decrby(k, 3))
        check.equal("GET k", b"12", await r.get(k))

    async def expire_ttl():
        k = key("ttl")
        await r.set(k, b"v")
        check.equal("TTL after SET without EX (kept until deleted)", -1, await r.ttl(k))
        check.equal("EXPIRE k 100", True, await r.expire(k, 100))
        ttl = await r.ttl(k)
        check.true("TTL after EXPIRE 100 is in 1..100", 0 < ttl <= 100, ttl)
        check.equal("TTL of a missing key", -2, await r.ttl(key("ttl-missing")))

    async def pipeline():
        async with r.pipeline(transaction=False) as pipe:
            for i in range(50):
                pipe.set(key(f"p:{i}"), b"\xff" + str(i).encode())
            for i in range(50):
                pipe.get(key(f"p:{i}"))
        results = pipe.results
        check.equal("50 SET replies", (True,) * 50, tuple(results[:50]))
        check.equal("50 GET replies", tuple(b"\xff" + str(i).encode() for i in range(50)), tuple(results[50:]))

    async def transaction():
        k = key("tx")
        await r.delete([key("tx-hash")])
        async with r.pipeline(transaction=True) as pipe:
            pipe.set(k, b"5")
            pipe.incr(k)
            pipe.get(k)
            pipe.hset(key("tx-hash"), {b"proxy_url": PROXY_URL, b"country": b"FR"})
        check.equal("MULTI SET INCR GET HSET EXEC", (True, 6, b"6", 2), tuple(pipe.results))

    async def watch_commits():
        k = key("watch-ok")
        await r.set(k, b"1")
        async with r.pipeline(transaction=True) as pipe:
            async with pipe.watch(k):
                current = int(await r.get(k))
                pipe.set(k, str(current + 1).encode())
        check.equal("WATCH k; MULTI, SET k, EXEC", (True,), tuple(pipe.results))
        check.equal("GET k after the transaction", b"2", await r.get(k))

    async def watch_aborts():
        k = key("watch-abort")
        await r.set(k, b"start")
        async with coredis.Redis(unix_socket_path=path) as other:
            try:
                async with r.pipeline(transaction=True) as pipe:
                    async with pipe.watch(k):
                        check.equal("another client's SET k", True, await other.set(k, b"theirs"))
                        pipe.set(k, b"mine")
                raise AssertionError(f"EXEC ran although the watched key changed: {pipe.results!r}")
            except coredis.exceptions.WatchError:
                pass
        check.equal("GET k after the aborted transaction", b"theirs", await r.get(k))

    async def resp3_map():
        k = key("map")
        await r.hset(k, {b"proxy_url": PROXY_URL, b"country": b"NL"})
        async with r.connection_pool.acquire() as connection:
            raw = await connection.create_request(b"HGETALL", k)
        check.true("raw HGETALL reply is a RESP3 map (dict)", isinstance(raw, dict), raw)
        check.equal("map[country]", b"NL", raw.get(b"country"))

    async def scan():
        keys = {found async for found in r.scan_iter(match=key("p:*"), count=7)}
        check.equal("SCAN MATCH p:* COUNT 7", {key(f"p:{i}") for i in range(50)}, keys)

    await check.run_async("SET/GET values of every byte 0x00-0xFF", every_byte_value)
    await check.run_async("SET/GET/EXISTS/DEL a key of every byte 0x00-0xFF", every_byte_key)
    await check.run_async("binary keys that differ only in non-UTF-8 bytes stay distinct", distinct_binary_keys)
    await check.run_async("SET/GET the empty string", empty_value)
    await check.run_async("MSET/MGET", mset_mget)
    await check.run_async("HSET/HGET/HGETALL/HDEL with custom fields", hash_custom_fields)
    await check.run_async("INCR/DECR/INCRBY/DECRBY", counters)
    await check.run_async("EXPIRE/TTL", expire_ttl)
    await check.run_async("pipeline (no transaction)", pipeline)
    await check.run_async("transaction: pipeline(transaction=True)", transaction)
    await check.run_async("WATCH: an optimistic transaction commits", watch_commits)
    await check.run_async("WATCH: another client's write aborts EXEC", watch_aborts)
    await check.run_async("RESP3: HGETALL comes back as a map", resp3_map)
    await check.run_async("SCAN MATCH", scan)


async def main(path: str) -> None:
    check = Checker(LABEL)
    print(f"info: {LABEL} {coredis.__version__}: RESP3 only", flush=True)
    try:
        async with coredis.Redis(unix_socket_path=path) as r:

            async def connect():
                check.equal("PING", b"PONG", await r.ping())

            if await check.run_async("connect and PING (default constructor)", connect):
                await checks(check, r, path)
            else:
                check.skip_rest("the first command failed")
    except Exception as error:  # noqa: BLE001 - opening or closing the client failed: report it, do not crash
        check.error("open and close the client", error)
    check.finish()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
