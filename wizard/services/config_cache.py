"""`ConfigStore.load` for hot paths (the relay asks per SMTP command, the sender per round).

Parsing config.toml with tomlkit costs about a millisecond; the file is re-read only when its
identity changes (ConfigStore writes through os.replace, so every save is a new inode and mtime).
"""

from __future__ import annotations

import threading

from wizard.services.config import Config, ConfigStore


class CachedConfigLoader:
    """Callable like `ConfigStore().load`, re-reading the file only after it changed."""

    def __init__(self, store: ConfigStore | None = None) -> None:
        self.store = store or ConfigStore()
        self._lock = threading.Lock()
        self._key: tuple[int, int, int] | None = None
        self._config: Config | None = None

    def __call__(self) -> Config:
        try:
            stat = self.store.path.stat()
            key: tuple[int, int, int] | None = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            key = None
        with self._lock:
            if self._config is None or key != self._key:
                self._config = self.store.load()
                self._key = key
            return self._config
