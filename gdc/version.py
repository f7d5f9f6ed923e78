"""The version of gdc: part of every generated module's header and of every cache key."""

__version__ = "0.1.0"
