"""A class of the application's own, so pickling a cached instance needs the app's module to load it back."""
from dataclasses import dataclass, field


@dataclass
class ProxyRecord:
    """A proxy as a rotator might cache it: binary credentials, a set of tags, a score."""

    url: str
    secret: bytes
    tags: set[str] = field(default_factory=set)
    score: float = 0.0
