"""Test settings: the project's settings, changed only where it makes tests faster."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
# Fixed test keys (32 bytes each, url-safe base64): personal data is encrypted in tests too.
os.environ.setdefault("DATA_ENCRYPTION_KEY", "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=")
os.environ.setdefault("BLIND_INDEX_KEY", "dGVzdC1vbmx5LWluZGV4LWtleS0zMi1ieXRlcy1sb24=")
os.environ.setdefault("SAFECOMMUNITY_DATA_DIR", tempfile.mkdtemp(prefix="safecommunity-test-"))

from safecommunity.settings import *  # noqa: E402, F403

# Argon2 is deliberately slow; tests log in hundreds of times. tests/accounts checks that the
# real settings hash with Argon2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# WhiteNoise warns on every request when STATIC_ROOT is missing; the suite never collects.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
