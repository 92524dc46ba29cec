"""`python manage.py cachecheck`: Django's cache API through django-redis against cachesrvd, every answer checked.

django-redis pickles every value but integers, so each value here is binary on the wire: a server that changes one
byte makes the unpickling fail or the value differ.
"""
import datetime
import sys

from django.core.cache import cache
from django.core.management.base import BaseCommand

from cachecheck.proxy_record import ProxyRecord
from interop_common import ALL_BYTES, Checker

LABEL = "django-redis"

VALUES = {
    "dict-with-bytes": {"secret": ALL_BYTES, "empty": b"", "nested": {"list": [1, 2.5, None, "ü"]}},
    "datetime": datetime.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=datetime.timezone.utc),
    "instance": ProxyRecord("http://10.3.0.1:3128", b"\x00\xff\xfe", {"DE", "socks5"}, 0.75),
    "bytes": ALL_BYTES,
    "text": "proxy ü € 😀",
    "big-int": 2**70,
    "float": 3.25,
    "empty-string": "",
}


class Command(BaseCommand):
    help = "Checks Django's cache API (django-redis) against the cachesrvd at $CACHESRVD_SOCKET."
    requires_system_checks = []

    def handle(self, *args, **options) -> None:
        import django
        import django_redis
        import redis

        check = Checker(LABEL)
        print(
            f"info: {LABEL} {django_redis.__version__} on Django {django.get_version()} and redis-py "
            f"{redis.__version__}",
            flush=True,
        )

        def connect():
            check.equal("cache.set('ping', 1)", True, cache.set("ping", 1))
            check.equal("cache.get('ping')", 1, cache.get("ping"))

        if not check.run("connect: set/get (default settings, unix:// LOCATION)", connect):
            check.skip_rest("the first command failed")
            check.finish()

        missing = object()

        def pickled_values():
            for name, value in VALUES.items():
                check.equal(f"cache.set({name!r})", True, cache.set(f"pickled:{name}", value))
            for name, value in VALUES.items():
                check.equal(f"cache.get({name!r})", value, cache.get(f"pickled:{name}", missing))

        def many():
            values = {f"many:{name}": value for name, value in VALUES.items()}
            # django-redis answers None where Django's API says "the keys that failed": no return value to check.
            cache.set_many(values)
            got = cache.get_many([*values, "many:missing"])
            check.equal("cache.get_many(...)", values, got)

        def counters():
            cache.set("counter", 10)
            check.equal("cache.incr('counter')", 11, cache.incr("counter"))
            check.equal("cache.incr('counter', 5)", 16, cache.incr("counter", 5))
            check.equal("cache.decr('counter')", 15, cache.decr("counter"))
            check.equal("cache.decr('counter', 20)", -5, cache.decr("counter", 20))
            check.equal("cache.get('counter')", -5, cache.get("counter"))
            # django-redis sends INCRBY inside an EVAL script; a server without scripting answers unknown command and
            # django-redis falls back to TTL, GET and SET, whose answer for a missing key is TypeError, not ValueError
            # (its fallback misreads the TTL of a missing key). Either way the key must not come into being.
            try:
                cache.incr("counter-missing")
                raise AssertionError("cache.incr of a missing key answered no error")
            except (ValueError, TypeError):
                pass
            check.equal("cache.has_key after incr of a missing key", False, cache.has_key("counter-missing"))

        def ttl():
            check.equal("cache.set(k, v, timeout=None)", True, cache.set("ttl:forever", VALUES["instance"], None))
            check.equal("cache.ttl(k) of a key kept forever", None, cache.ttl("ttl:forever"))
            cache.set("ttl:default", VALUES["datetime"])
            left = cache.ttl("ttl:default")
            check.true("cache.ttl(k) after set with the default timeout (300) is in 1..300", 0 < left <= 300, left)
            cache.set("ttl:100", b"v", 100)
            left = cache.ttl("ttl:100")
            check.true("cache.ttl(k) after set(timeout=100) is in 1..100", 0 < left <= 100, left)
            check.equal("cache.ttl(missing)", 0, cache.ttl("ttl:missing"))

        def touch():
            cache.set("touch", VALUES["dict-with-bytes"], 100)
            check.equal("cache.touch(k, 100000)", True, cache.touch("touch", 100000))
            left = cache.ttl("touch")
            check.true("cache.ttl(k) after touch(k, 100000) is in 101..100000", 100 < left <= 100000, left)
            check.equal("cache.touch(missing)", False, cache.touch("touch:missing", 10))
            check.equal("cache.get(k) after touch", VALUES["dict-with-bytes"], cache.get("touch"))

        def delete_and_has_key():
            cache.set("delete", VALUES["bytes"])
            check.equal("cache.has_key(k)", True, cache.has_key("delete"))
            check.equal("cache.delete(k)", True, cache.delete("delete"))
            check.equal("cache.has_key(k) after delete", False, cache.has_key("delete"))
            check.equal("cache.get(k) after delete", missing, cache.get("delete", missing))
            check.equal("cache.delete(k) again", False, cache.delete("delete"))
            cache.set_many({"dm:1": 1, "dm:2": b"\xff"})
            cache.delete_many(["dm:1", "dm:2"])
            check.equal("cache.get_many after delete_many", {}, cache.get_many(["dm:1", "dm:2"]))

        def add_and_get_or_set():
            cache.delete("add")
            check.equal("cache.add(new)", True, cache.add("add", VALUES["instance"]))
            check.equal("cache.add(existing)", False, cache.add("add", "other"))
            check.equal("cache.get(k) after both adds", VALUES["instance"], cache.get("add"))
            cache.delete("get-or-set")
            check.equal("cache.get_or_set(new)", VALUES["datetime"], cache.get_or_set("get-or-set", VALUES["datetime"]))
            check.equal("cache.get_or_set(existing)", VALUES["datetime"], cache.get_or_set("get-or-set", "other"))

        check.run("set/get of pickled values (dict with bytes, datetime, instance, ...)", pickled_values)
        check.run("set_many/get_many", many)
        check.run("incr/decr", counters)
        check.run("ttl (timeout None, default, 100)", ttl)
        check.run("touch", touch)
        check.run("delete/delete_many/has_key", delete_and_has_key)
        check.run("add/get_or_set", add_and_get_or_set)
        sys.stdout.flush()
        check.finish()
