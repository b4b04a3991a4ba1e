"""The ``safecommunity`` command: Django's management with the project's settings.

``safecommunity demo`` must work on a fresh checkout with no configuration, so before Django
loads settings this module gives it a data folder (./var) with a generated secret key and
data-protection keys, kept across runs. Every other command expects a configured environment.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

# Commands that run on a fresh checkout with no configuration: they get ./var and its keys.
DEMO_COMMANDS = {"demo", "demo-city"}


def _ensure_key_file(path: Path, make: str) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make, encoding="utf-8")
        path.chmod(0o600)
    return path


def prepare_demo_environment(data_dir: Path) -> None:
    """Point settings at ``data_dir`` and create the demo's own keys there (never in the repo)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # WhiteNoise serves from the app folders in the demo; an empty STATIC_ROOT keeps it quiet.
    (data_dir / "static").mkdir(exist_ok=True)
    os.environ.setdefault("SAFECOMMUNITY_DATA_DIR", str(data_dir))
    keys = data_dir / "keys"
    for name, make in (
        ("SECRET_KEY", secrets.token_urlsafe(50)),
        ("DATA_ENCRYPTION_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()),
        ("BLIND_INDEX_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()),
    ):
        if name not in os.environ and f"{name}_FILE" not in os.environ:
            os.environ[f"{name}_FILE"] = str(_ensure_key_file(keys / name.lower(), make))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    data_dir = Path(os.environ.get("SAFECOMMUNITY_DATA_DIR", "var")).resolve()
    if len(argv) > 1 and argv[1] in DEMO_COMMANDS:
        prepare_demo_environment(data_dir)
    elif "DATABASE_URL" not in os.environ:
        # The embedded default is an SQLite file in the data folder; SQLite creates the file
        # but not its folder, and would fail with "unable to open database file".
        data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safecommunity.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        # A configuration mistake deserves one clear line, not a traceback.
        sys.stderr.write(f"safecommunity: configuration error: {exc}\n")
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
