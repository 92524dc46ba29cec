"""Reads entries of a cachesrvd data directory with the real proxywhirl 0.3.3's own SQLite tiers (pip install
proxywhirl==0.3.3): `SQLiteCacheTier.get` on <data-dir>/cachesrvd.db (L3) and `DiskCacheTier.get` on
<data-dir>/l2/l2_cache.db (L2), which map `SELECT *` by position. A tier's failure is raised, not swallowed as
proxywhirl does, so the error shows.

Arguments: data directory, Fernet key, keys. Prints, as JSON, {"l3": {key: fields}, "l2": {key: fields}}, where
fields are the entry's as proxywhirl sees them (times as Unix seconds, credentials in clear) or null when absent.
"""
import json, sys
from pathlib import Path

from proxywhirl.cache.crypto import CredentialEncryptor
from proxywhirl.cache.models import CacheTierConfig
from proxywhirl.cache.tiers import DiskCacheTier, SQLiteCacheTier, TierType

data, key, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
encryptor = CredentialEncryptor(key.encode())


def reraise(error):
    raise error


def fields(entry):
    if entry is None:
        return None
    out = {}
    for name, value in entry.model_dump().items():
        if hasattr(value, "timestamp"):
            value = value.timestamp()
        elif hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif hasattr(value, "value"):  # enums
            value = value.value
        out[name] = value
    return out


l3 = SQLiteCacheTier(CacheTierConfig(), TierType.L3_SQLITE, Path(data) / "cachesrvd.db", encryptor)
l3.handle_failure = reraise
l2 = DiskCacheTier(CacheTierConfig(), TierType.L2_FILE, Path(data) / "l2", encryptor)
l2.handle_failure = reraise
print(json.dumps({"l3": {k: fields(l3.get(k)) for k in keys}, "l2": {k: fields(l2.get(k)) for k in keys}}))
