"""``safecommunity rotate-keys``: re-encrypt personal data under the current key, in every
table that stores it (``TABLES``).

How to rotate (README, "Key rotation"):

1. Encryption key: put a new key first in ``DATA_ENCRYPTION_KEY`` and keep the old one after
   it (``new,old``); deploy; run ``safecommunity rotate-keys``; then drop the old key.
   Values under the old key keep decrypting throughout.
2. Blind-index key: put the new key first in ``BLIND_INDEX_KEY``; deploy; run
   ``safecommunity rotate-keys --reindex`` at once — until it finishes, exact lookups by ID or
   phone miss the rows not yet re-indexed. The command decrypts each value and recomputes its
   index under the current key.

Work goes in batches of ``--batch`` rows, each in its own transaction, so the command can be
stopped and run again; it prints progress and a summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from safecommunity.accounts.services import audit_record
from safecommunity.demo.progress import TextProgress, raw_stream
from safecommunity.people import identity


@dataclass(frozen=True)
class Protected:
    """A column of ciphertext: its encryption purpose and, when it has one, its blind index."""

    purpose: str
    cipher: str
    index: str | None = None


# Every table that stores personal data encrypted, with its protected columns. A new table
# with a ciphertext column belongs here, or a rotation would strand it under the old key.
TABLES: tuple[tuple[str, str, tuple[Protected, ...]], ...] = (
    (
        "residents",
        "people.Resident",
        (
            Protected("id", "id_cipher", "id_index"),
            Protected("phone", "phone_cipher", "phone_index"),
        ),
    ),
    ("dispute parties", "disputes.Party", (Protected("phone", "phone_cipher", "phone_index"),)),
    (
        "custody items",
        "custody.CustodyItem",
        (Protected("phone", "owner_phone_cipher", "owner_phone_index"),),
    ),
    (
        "requests",
        "service_requests.ServiceRequest",
        (Protected("request_phone", "contact_phone_cipher"),),
    ),
)


class Command(BaseCommand):
    help = "Re-encrypt ID and phone numbers under the current key (and re-index with --reindex)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reindex", action="store_true", help="recompute blind indexes")
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        reindex: bool = options["reindex"]
        batch: int = max(1, options["batch"])
        progress = TextProgress(raw_stream(self.stderr))
        rows_done: dict[str, int] = {}
        reencrypted = reindexed = 0
        for label, model_name, fields in TABLES:
            done, encrypted, indexed = self._rotate(
                label, apps.get_model(model_name), fields, reindex, batch, progress
            )
            rows_done[label] = done
            reencrypted += encrypted
            reindexed += indexed
        progress.finish()
        audit_record(
            actor=None,
            action="people.rotate_keys",
            detail={"reencrypted": reencrypted, "reindexed": reindexed, **rows_done},
        )
        tables = ", ".join(f"{label} {done}" for label, done in rows_done.items())
        self.stdout.write(
            f"{tables}, values re-encrypted {reencrypted}, indexes recomputed {reindexed}"
        )

    def _rotate(
        self,
        label: str,
        model: Any,
        fields: tuple[Protected, ...],
        reindex: bool,
        batch: int,
        progress: TextProgress,
    ) -> tuple[int, int, int]:
        """Re-encrypt (and re-index) one table in batches of ``batch`` rows, each batch its
        own transaction; return (rows, values re-encrypted, indexes recomputed)."""
        columns = [f.cipher for f in fields] + [f.index for f in fields if f.index]
        total = model.objects.count()
        progress(label, 0, total)
        reencrypted = reindexed = done = 0
        last_pk = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model.objects.select_for_update()
                    .filter(pk__gt=last_pk)
                    .order_by("pk")
                    .only("pk", *columns)[:batch]
                )
                if not rows:
                    break
                changed: list[Any] = []
                for row in rows:
                    touched = False
                    for field in fields:
                        blob = getattr(row, field.cipher)
                        if blob is None:
                            continue
                        current = identity.is_current_key(blob)
                        recompute = reindex and field.index is not None
                        if current and not recompute:
                            continue
                        plain = identity.decrypt(blob, purpose=field.purpose)
                        if not current:
                            setattr(
                                row, field.cipher, identity.encrypt(plain, purpose=field.purpose)
                            )
                            reencrypted += 1
                            touched = True
                        if recompute and field.index is not None:
                            new_index = identity.blind_index(plain, purpose=field.purpose)
                            if new_index != getattr(row, field.index):
                                setattr(row, field.index, new_index)
                                reindexed += 1
                                touched = True
                    if touched:
                        changed.append(row)
                model.objects.bulk_update(changed, columns)
            last_pk = rows[-1].pk
            done += len(rows)
            progress(label, done, total)
        return done, reencrypted, reindexed
