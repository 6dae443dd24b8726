"""Where Mailwright keeps its files: the data home (`MAILWRIGHT_HOME`, else the platform's user data folder).

Apart from config.py so that the app's first start can ask whether a `config.toml` exists yet without loading
the config loader, its validators and tomlkit before the first window is painted.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_FILE = "config.toml"
M365_FOLDER = "m365"  # Microsoft 365 set-up records (<profile>.json) and app certificates


def data_home_path() -> Path:
    """The data home's path, without creating it (config.data_home creates it, private)."""
    override = os.environ.get("MAILWRIGHT_HOME")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("mailwright", appauthor=False))


def has_config_file() -> bool:
    """False on a first start: nothing has been saved yet, so there is nothing to load."""
    return (data_home_path() / CONFIG_FILE).exists()


def has_m365_records() -> bool:
    """Whether any Microsoft 365 app is recorded as set up (m365/record.py writes one `<profile>.json` each)."""
    folder = data_home_path() / M365_FOLDER
    return folder.is_dir() and any(folder.glob("*.json"))
