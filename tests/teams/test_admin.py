"""Teams in the admin: administrators only, and every correction audited."""

from __future__ import annotations

from safecommunity.accounts.models import AuditEntry, Role, User
from tests.accounts.test_admin import change_form_data
from tests.conftest import World, client_for


def test_it_audits_a_staff_members_phone_corrected_in_the_admin(world: World) -> None:
    client = client_for(world.users["admin"])
    url = f"/admin/teams/staff/{world.officer_a.pk}/change/"
    data = change_form_data(client, url)

    response = client.post(url, {**data, "phone": "13800000000"})

    assert response.status_code == 302
    world.officer_a.refresh_from_db()
    assert world.officer_a.phone == "13800000000"
    entry = AuditEntry.objects.get(action="admin.change", object_id=str(world.officer_a.pk))
    assert entry.object_type == "teams.staff"
    assert entry.detail == {"fields": ["phone"]}


def test_it_refuses_the_teams_admin_to_a_superuser_with_a_jurisdiction(world: World) -> None:
    user: User = world.users["neighbour"]
    user.role = Role.ADMIN
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    client = client_for(user)

    for path in ("staff", "assignment", "committeepost", "dutyshift"):
        assert client.get(f"/admin/teams/{path}/").status_code == 403, path
    staff_page = client.get(f"/admin/teams/staff/{world.officer_b.pk}/change/")
    assert staff_page.status_code == 403


def test_it_lists_every_team_member_to_an_administrator(world: World) -> None:
    response = client_for(world.users["admin"]).get("/admin/teams/staff/")

    assert response.status_code == 200
    assert world.officer_a in response.context["cl"].result_list
