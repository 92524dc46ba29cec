"""The app holding the `cachecheck` management command of the interop Django project."""
