"""Take the earlier dispute's number out of stored intake notes.

Intake used to note "Repeat of dispute #N." (or its Chinese, as the demo also wrote it) on
the event every viewer of the dispute sees, though the earlier dispute may lie outside their
jurisdiction. The link now comes from ``repeat_of`` where it is in scope; the notes say only
that it is a repeat. Data only; the texts are copied here, not imported from app code. Going
back leaves the notes as they are (the numbers stay in ``repeat_of``).
"""

import re

from django.db import migrations

BATCH = 2000
# The old wording in each language it was stored in, and the new one.
OLD = (
    (
        re.compile(r"Repeat of dispute #\d+\."),
        "Repeat dispute: the same parties or dwelling as an earlier one.",
    ),
    (re.compile(r"重复纠纷，前案 #\d+。"), "重复纠纷：与此前纠纷的当事人或房屋相同。"),
)


def scrub(apps, schema_editor):
    DisputeEvent = apps.get_model("disputes", "DisputeEvent")
    events = DisputeEvent.objects.filter(from_state="", note__contains="#").only("pk", "note")
    changed = []
    for event in events.order_by("pk").iterator(chunk_size=BATCH):
        note = event.note
        for pattern, new in OLD:
            note = pattern.sub(new, note)
        if note != event.note:
            event.note = note
            changed.append(event)
        if len(changed) >= BATCH:
            DisputeEvent.objects.bulk_update(changed, ["note"])
            changed.clear()
    DisputeEvent.objects.bulk_update(changed, ["note"])


class Migration(migrations.Migration):
    dependencies = [
        ("disputes", "0003_dispute_statistics_indexes"),
    ]

    operations = [
        migrations.RunPython(scrub, migrations.RunPython.noop, elidable=True),
    ]
