"""Settings of the interop Django project: Django's cache on cachesrvd through django-redis, nothing else.

The socket comes from CACHESRVD_SOCKET (the variable cachesrvd itself reads); LOCATION is a unix:// URL, as a user of
django-redis writes it, and no OPTIONS: every default of django-redis and redis-py stays as it is.
"""
import os

SECRET_KEY = "interop-only-not-a-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["cachecheck"]
DATABASES = {}

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"unix://{os.environ['CACHESRVD_SOCKET']}",
    }
}

# A diagnostic only (scripts/interop.sh never sets it): INTEROP_FORCE_PROTOCOL=2 shows what lies behind a failing
# HELLO 3.
if os.environ.get("INTEROP_FORCE_PROTOCOL"):
    CACHES["default"]["OPTIONS"] = {
        "CONNECTION_POOL_KWARGS": {"protocol": int(os.environ["INTEROP_FORCE_PROTOCOL"])}
    }
