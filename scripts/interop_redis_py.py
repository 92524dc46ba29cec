"""redis-py against a running cachesrvd: python3 scripts/interop_redis_py.py SOCKET_PATH"""
import sys
import time

import redis


def main(path: str) -> None:
    # redis-py 8 asks for RESP3 unless told otherwise; cachesrvd speaks RESP2 (HELLO 3 answers NOPROTO).
    extra = {"protocol": 2} if int(redis.__version__.split(".")[0]) >= 8 else {}
    r = redis.Redis(unix_socket_path=path, decode_responses=True, **extra)
    assert r.ping() is True

    # set/get with expiry
    assert r.set("py:1", "http://10.1.0.1:8080", ex=30) is True
    assert r.get("py:1") == "http://10.1.0.1:8080"
    assert 28 <= r.ttl("py:1") <= 30, r.ttl("py:1")
    assert r.set("py:short", "http://10.1.0.9:8080", px=200) is True
    deadline = time.time() + 5
    while r.get("py:short") is not None:
        assert time.time() < deadline, "PX expiry never happened"
        time.sleep(0.05)
    assert r.exists("py:short") == 0

    # hset/hgetall
    assert r.hset("py:2", mapping={"proxy_url": "http://10.1.0.2:3128", "source": "py", "username": "bob"}) == 3
    fields = r.hgetall("py:2")
    assert fields["proxy_url"] == "http://10.1.0.2:3128" and fields["source"] == "py" and fields["username"] == "bob"
    assert fields["health_status"] == "unknown", fields

    # pipelines: transactional (MULTI/EXEC) and plain
    with r.pipeline() as pipe:
        for i in range(50):
            pipe.set(f"py:p:{i}", f"http://10.2.0.{i}:80")
        pipe.get("py:p:7")
        results = pipe.execute()
    assert results[:50] == [True] * 50 and results[50] == "http://10.2.0.7:80", results[-3:]
    with r.pipeline(transaction=False) as pipe:
        for i in range(50):
            pipe.get(f"py:p:{i}")
        results = pipe.execute()
    assert results == [f"http://10.2.0.{i}:80" for i in range(50)], results[:3]

    # scan_iter
    keys = set(r.scan_iter(match="py:p:*", count=7))
    assert keys == {f"py:p:{i}" for i in range(50)}, len(keys)

    # errors come back as ResponseError and the connection keeps working
    # a field outside the schema is the entry's own (custom) field; schema fields keep their validation
    assert r.hset("py:2", "country", "de") == 1
    assert r.hget("py:2", "country") == "de"
    try:
        r.hset("py:2", "access_count", "many")
        raise AssertionError("invalid access_count accepted")
    except redis.ResponseError as error:
        assert "invalid value for 'access_count'" in str(error), error
    assert r.get("py:1") == "http://10.1.0.1:8080"
    print("ok: redis-py (set/get with expiry, hset/hgetall, custom fields, pipelines, scan_iter, errors)")


if __name__ == "__main__":
    main(sys.argv[1])
