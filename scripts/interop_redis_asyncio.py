"""redis-py's asyncio client (redis.asyncio) against a running cachesrvd.

    python scripts/interop_redis_asyncio.py SOCKET_PATH [--expect-hiredis yes|no]

The same checks as scripts/interop_redis_py.py, awaited; the client is made with its default constructor, only the
socket path given.
"""
import argparse
import asyncio

import redis
import redis.asyncio
import redis.utils
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


async def raw_reply(client, *command):
    """Sends one command on a pooled connection and returns the parser's reply, before any response callback."""
    pool = client.connection_pool
    connection = await pool.get_connection()
    try:
        await connection.send_command(*command)
        return await connection.read_response()
    finally:
        await pool.release(connection)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket")
    parser.add_argument("--expect-hiredis", choices=["yes", "no"])
    options = parser.parse_args()
    hiredis = options.expect_hiredis == "yes"
    label = f"redis-py[asyncio{',hiredis' if hiredis else ''}]"
    key_prefix = f"redis-py-asyncio{'-hiredis' if hiredis else ''}"
    check = Checker(label)
    path = options.socket

    def key(suffix: str) -> bytes:
        return prefixed(key_prefix, suffix)

    if options.expect_hiredis is not None:
        check.run(
            "hiredis availability as expected",
            lambda: check.equal("redis.utils.HIREDIS_AVAILABLE", hiredis, redis.utils.HIREDIS_AVAILABLE),
        )

    extra = {} if forced_protocol() is None else {"protocol": forced_protocol()}
    if extra:
        label += f"[protocol={forced_protocol()} forced, not the default]"
        check.client = label
    r = redis.asyncio.Redis(unix_socket_path=path, **extra)

    async def connect():
        check.equal("PING", True, await r.ping())

    if not await check.run_async("connect and PING (default constructor)", connect):
        check.skip_rest("the first command failed")
        check.finish()

    connection = await r.connection_pool.get_connection()
    protocol = int(getattr(connection, "protocol", 2) or 2)
    parser_name = type(connection._parser).__name__
    await r.connection_pool.release(connection)
    print(
        f"info: {label} {redis.__version__}: protocol={protocol} parser={parser_name} "
        f"HIREDIS_AVAILABLE={redis.utils.HIREDIS_AVAILABLE}",
        flush=True,
    )
    if options.expect_hiredis is not None:
        check.run(
            "the parser in use is the one expected",
            lambda: check.equal("parser uses hiredis", hiredis, "Hiredis" in parser_name),
        )

    async def every_byte_value():
        check.equal("SET k <bytes 0x00-0xFF>", True, await r.set(key("allbytes"), ALL_BYTES))
        check.equal("GET k", ALL_BYTES, await r.get(key("allbytes")))
        check.equal("SET k <binary>", True, await r.set(key("binary"), BINARY_VALUE))
        check.equal("GET k", BINARY_VALUE, await r.get(key("binary")))

    async def every_byte_key():
        k = key("key:") + ALL_BYTES
        await r.delete(k)
        check.equal("SET <key of bytes 0x00-0xFF> v", True, await r.set(k, b"v-allbytes"))
        check.equal("KEYS <prefix>key:*", [k], await r.keys(key("key:*")))
        check.equal("GET <key of bytes 0x00-0xFF>", b"v-allbytes", await r.get(k))
        check.equal("EXISTS <key of bytes 0x00-0xFF>", 1, await r.exists(k))
        check.equal("DEL <key of bytes 0x00-0xFF>", 1, await r.delete(k))
        check.equal("GET after DEL", None, await r.get(k))

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
        check.equal("MGET m1 m2 m3 missing", [BINARY_VALUE, b"", b"plain", None], got)

    async def hash_custom_fields():
        k = key("hash")
        await r.delete(k)
        fields = {b"proxy_url": PROXY_URL, **CUSTOM_FIELDS}
        check.equal(f"HSET k {fields!r}", len(fields), await r.hset(k, mapping=fields))
        check.equal("HGET k country", b"DE", await r.hget(k, b"country"))
        everything = await r.hgetall(k)
        check.true("HGETALL is a dict", isinstance(everything, dict), everything)
        for field, value in fields.items():
            check.equal(f"HGETALL k [{field!r}]", value, everything.get(field))
        check.equal("HDEL k country", 1, await r.hdel(k, b"country"))
        check.equal("HGET k country after HDEL", None, await r.hget(k, b"country"))

    async def counters():
        k = key("counter")
        await r.set(k, b"10")
        check.equal("INCR k (10)", 11, await r.incr(k))
        check.equal("DECR k", 10, await r.decr(k))
        check.equal("INCRBY k 5", 15, await r.incrby(k, 5))
        check.equal("GET k", b"15", await r.get(k))

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
            results = await pipe.execute()
        check.equal("50 SET replies", [True] * 50, results[:50])
        check.equal("50 GET replies", [b"\xff" + str(i).encode() for i in range(50)], results[50:])

    async def transaction():
        k = key("tx")
        await r.delete(key("tx-hash"))
        async with r.pipeline(transaction=True) as pipe:
            pipe.set(k, b"5")
            pipe.incr(k)
            pipe.get(k)
            pipe.hset(key("tx-hash"), mapping={b"proxy_url": PROXY_URL, b"country": b"FR"})
            results = await pipe.execute()
        check.equal("MULTI SET INCR GET HSET EXEC", [True, 6, b"6", 2], results)

    async def watch_commits():
        k = key("watch-ok")
        await r.set(k, b"1")
        async with r.pipeline() as pipe:
            await pipe.watch(k)
            current = int(await pipe.get(k))
            pipe.multi()
            pipe.set(k, str(current + 1).encode())
            check.equal("WATCH k, GET k, MULTI, SET k, EXEC", [True], await pipe.execute())
        check.equal("GET k after the transaction", b"2", await r.get(k))

    async def watch_aborts():
        k = key("watch-abort")
        await r.set(k, b"start")
        other = redis.asyncio.Redis(unix_socket_path=path, **extra)
        try:
            async with r.pipeline() as pipe:
                await pipe.watch(k)
                check.equal("GET k while watching", b"start", await pipe.get(k))
                check.equal("another client's SET k", True, await other.set(k, b"theirs"))
                pipe.multi()
                pipe.set(k, b"mine")
                try:
                    results = await pipe.execute()
                    raise AssertionError(f"EXEC ran although the watched key changed: {results!r}")
                except redis.WatchError:
                    pass
        finally:
            await other.aclose()
        check.equal("GET k after the aborted transaction", b"theirs", await r.get(k))

    async def resp3_map():
        k = key("map")
        await r.hset(k, mapping={b"proxy_url": PROXY_URL, b"country": b"NL"})
        raw = await raw_reply(r, "HGETALL", k)
        check.true("raw HGETALL reply is a RESP3 map (dict)", isinstance(raw, dict), raw)
        check.equal("map[country]", b"NL", raw.get(b"country"))

    async def concurrent_clients():
        # 64 coroutines over the pool at once (its default bound is 100 connections): each reads back exactly its
        # own value, four bytes of 0x00-0xFF each.
        async def one(i: int) -> bytes | None:
            await r.set(key(f"c:{i}"), ALL_BYTES[i * 4 : i * 4 + 4])
            return await r.get(key(f"c:{i}"))

        results = await asyncio.gather(*(one(i) for i in range(64)))
        check.equal("64 concurrent SET/GET", [ALL_BYTES[i * 4 : i * 4 + 4] for i in range(64)], list(results))

    await check.run_async("SET/GET values of every byte 0x00-0xFF", every_byte_value)
    await check.run_async("SET/GET/EXISTS/DEL a key of every byte 0x00-0xFF", every_byte_key)
    await check.run_async("binary keys that differ only in non-UTF-8 bytes stay distinct", distinct_binary_keys)
    await check.run_async("SET/GET the empty string", empty_value)
    await check.run_async("MSET/MGET", mset_mget)
    await check.run_async("HSET/HGET/HGETALL/HDEL with custom fields", hash_custom_fields)
    await check.run_async("INCR/DECR/INCRBY", counters)
    await check.run_async("EXPIRE/TTL", expire_ttl)
    await check.run_async("pipeline (no transaction)", pipeline)
    await check.run_async("transaction: pipeline(transaction=True)", transaction)
    await check.run_async("WATCH: an optimistic transaction commits", watch_commits)
    await check.run_async("WATCH: another client's write aborts EXEC", watch_aborts)
    await check.run_async("RESP3: HGETALL comes back as a map", resp3_map)
    await check.run_async("concurrent commands over the pool", concurrent_clients)
    await r.aclose()
    check.finish()


if __name__ == "__main__":
    asyncio.run(main())
