"""What the database itself refuses for custody items, whatever writes the row."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from safecommunity.custody.models import CustodyItem, ItemState
from tests.custody.conftest import Custody


def _update_refused(pk: int, **fields: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        CustodyItem.objects.filter(pk=pk).update(**fields)


def test_a_returned_item_names_who_collected_it_and_the_check(custody: Custody) -> None:
    returned = {"state": ItemState.RETURNED, "returned_at": timezone.now()}
    pk = custody.item_a.pk
    _update_refused(pk, **returned, returned_to="", return_check="身份证")
    _update_refused(pk, **returned, returned_to="张明", return_check="")
    CustodyItem.objects.filter(pk=pk).update(**returned, returned_to="张明", return_check="身份证")


def test_an_item_has_a_tag_and_an_owners_name(custody: Custody) -> None:
    _update_refused(custody.item_b.pk, tag="")
    _update_refused(custody.item_b.pk, owner_name="")
    _update_refused(custody.item_a.pk, tag="")
