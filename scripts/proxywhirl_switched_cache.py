"""Makes a real proxywhirl 0.3.3 cache whose L2 backend was switched from jsonl to sqlite (pip install
proxywhirl==0.3.3), as an operator's cache ends up: every key in L3 and the JSONL shards with its health
fields, and the keys read after the switch promoted from L3 into l2_cache.db, a newer copy without the
health-monitoring columns.

Arguments: base directory, Fernet key. Writes <base>/.cache/{proxies,db} (proxywhirl's default layout) and
prints, as JSON, the fields every key must have after `cachesrvd import-proxywhirl`:
{key: {field: value as HGET replies it}} (times as whole Unix seconds).
"""
import json, sys
from datetime import datetime, timedelta, timezone

from pydantic import SecretStr
from proxywhirl.cache import CacheConfig, CacheEntry, CacheManager, HealthStatus

base, key = sys.argv[1], sys.argv[2]
now = datetime.now(timezone.utc).replace(microsecond=0)


def config(backend):
    return CacheConfig(l2_backend=backend, l2_cache_dir=base + "/.cache/proxies",
                       l3_database_path=base + "/.cache/db/proxywhirl.db", encryption_key=SecretStr(key))


def entry(i):
    return CacheEntry(
        key="p%d" % i, proxy_url="http://10.8.0.%d:3128" % i, username=SecretStr("user%d" % i),
        password=SecretStr("pw%d" % i), source="feed%d" % (i % 2), fetch_time=now - timedelta(seconds=600),
        last_accessed=now - timedelta(seconds=300), ttl_seconds=7200, expires_at=now + timedelta(seconds=3600),
        health_status=HealthStatus.DEGRADED, failure_count=1, last_health_check=now - timedelta(seconds=60 + i),
        consecutive_health_failures=i, consecutive_health_successes=0, recovery_attempt=i % 3,
        next_check_time=now + timedelta(seconds=120 + i), last_health_error="timeout #%d" % i,
        total_health_checks=10 + i, total_health_check_failures=3 + i)


expected = {}
first = CacheManager(config("jsonl"))
for i in range(1, 7):
    e = entry(i)
    assert first.put(e.key, e)
    expected[e.key] = {
        "proxy_url": e.proxy_url, "username": "user%d" % i, "password": "pw%d" % i, "source": e.source,
        "health_status": "degraded", "last_health_check": "%d" % int((now - timedelta(seconds=60 + i)).timestamp()),
        "consecutive_health_failures": str(i), "recovery_attempt": str(i % 3),
        "next_check_time": "%d" % int((now + timedelta(seconds=120 + i)).timestamp()),
        "last_health_error": "timeout #%d" % i, "total_health_checks": str(10 + i),
        "total_health_check_failures": str(3 + i), "access_count": "0",
    }

# The operator switches l2_backend to sqlite: a new manager reads p1..p3 from L3 and promotes them into
# l2_cache.db with a newer last_accessed, a copy without the health columns.
second = CacheManager(config("sqlite"))
for k in ("p1", "p2", "p3"):
    got = second.get(k)
    assert got is not None and got.last_health_error == expected[k]["last_health_error"], k
    expected[k]["access_count"] = "1"  # the hit, written to L1 and L2 only
print(json.dumps(expected))
