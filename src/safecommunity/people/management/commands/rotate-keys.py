"""``safecommunity rotate-keys``: re-encrypt personal data under the current key.

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

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from safecommunity.accounts.services import audit_record
from safecommunity.demo.progress import TextProgress, raw_stream
from safecommunity.people import identity
from safecommunity.people.models import Resident

FIELDS = (("id", "id_cipher", "id_index"), ("phone", "phone_cipher", "phone_index"))


class Command(BaseCommand):
    help = "Re-encrypt ID and phone numbers under the current key (and re-index with --reindex)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reindex", action="store_true", help="recompute blind indexes")
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        reindex: bool = options["reindex"]
        batch: int = max(1, options["batch"])
        total = Resident.objects.count()
        progress = TextProgress(raw_stream(self.stderr))
        progress("residents", 0, total)
        reencrypted = reindexed = done = 0
        last_pk = 0
        while True:
            with transaction.atomic():
                rows = list(
                    Resident.objects.select_for_update()
                    .filter(pk__gt=last_pk)
                    .order_by("pk")
                    .only("pk", "id_cipher", "id_index", "phone_cipher", "phone_index")[:batch]
                )
                if not rows:
                    break
                changed: list[Resident] = []
                for resident in rows:
                    touched = False
                    for purpose, cipher_field, index_field in FIELDS:
                        blob = getattr(resident, cipher_field)
                        if blob is None:
                            continue
                        if not identity.is_current_key(blob) or reindex:
                            plain = identity.decrypt(blob, purpose=purpose)
                            if not identity.is_current_key(blob):
                                setattr(
                                    resident, cipher_field, identity.encrypt(plain, purpose=purpose)
                                )
                                reencrypted += 1
                                touched = True
                            if reindex:
                                new_index = identity.blind_index(plain, purpose=purpose)
                                if new_index != getattr(resident, index_field):
                                    setattr(resident, index_field, new_index)
                                    reindexed += 1
                                    touched = True
                    if touched:
                        changed.append(resident)
                Resident.objects.bulk_update(
                    changed, ["id_cipher", "id_index", "phone_cipher", "phone_index"]
                )
            last_pk = rows[-1].pk
            done += len(rows)
            progress("residents", done, total)
        progress.finish()
        audit_record(
            actor=None,
            action="people.rotate_keys",
            detail={"reencrypted": reencrypted, "reindexed": reindexed, "residents": done},
        )
        self.stdout.write(
            f"residents {done}, values re-encrypted {reencrypted}, indexes recomputed {reindexed}"
        )
