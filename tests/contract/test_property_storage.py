"""Contact properties and the values contacts carry: one suite over every storage adapter."""

from __future__ import annotations

import pytest

from autorelay_core.domain.properties import ContactProperty, PropertyType
from autorelay_core.errors import Conflict
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.ports import ContactQuery
from tests.contract.test_contact_storage import NOW, contact, with_list


def prop(key: str, kind: PropertyType, default=None, project: str = "prj_a") -> ContactProperty:
    return ContactProperty(f"prop_{project}_{key}", project, key, kind, NOW, default)


async def test_declarations_are_unique_per_project_kept_by_key_and_typed_defaults_round_trip(store):
    await store.properties.add(prop("plan", PropertyType.TEXT, "free"))
    await store.properties.add(prop("seats", PropertyType.NUMBER, 2.5))
    await store.properties.add(prop("vip", PropertyType.BOOLEAN, False))
    await store.properties.add(prop("renews", PropertyType.DATE))
    await store.properties.add(prop("plan", PropertyType.NUMBER, project="prj_b"))  # another project's
    with pytest.raises(Conflict):
        await store.properties.add(ContactProperty("prop_x", "prj_a", "plan", PropertyType.TEXT, NOW))
    found = await store.properties.all("prj_a")
    assert [(p.key, p.type, p.default) for p in found] == [
        ("plan", PropertyType.TEXT, "free"),
        ("renews", PropertyType.DATE, None),
        ("seats", PropertyType.NUMBER, 2.5),
        ("vip", PropertyType.BOOLEAN, False),
    ]
    assert await store.properties.get("prj_b", "prop_prj_a_plan") is None
    changed = found[0]
    changed.default = "pro"
    await store.properties.set_default(changed)
    assert (await store.properties.get("prj_a", changed.id)).default == "pro"


async def test_contacts_keep_their_values_typed_through_add_import_update_and_pages(store):
    await with_list(store)
    values = {"plan": "pro", "seats": 12, "ratio": 0.25, "vip": True, "renews": "2027-01-31"}
    one = contact("one@example.com", properties=dict(values))
    await store.contacts.add(one)
    [two] = await store.contacts.add_many([contact("two@example.com", properties={"vip": False})])
    assert (await store.contacts.get("prj_a", one.id)).properties == values
    read = await store.contacts.get("prj_a", two.id)
    assert read.properties == {"vip": False} and read.properties["vip"] is False
    read.properties = {"seats": 3}
    await store.contacts.update(read)
    page = await store.contacts.page("prj_a", ContactQuery("lst_a"), OffsetRequest(1, 10))
    assert [c.properties for c in page.items] == [values, {"seats": 3}]
    assert isinstance(page.items[0].properties["seats"], int)


async def test_deleting_a_property_takes_its_values_from_that_projects_contacts_only(store):
    await with_list(store)
    await with_list(store, "lst_b", project="prj_b")
    await store.properties.add(prop("plan", PropertyType.TEXT))
    await store.properties.add(prop("plan", PropertyType.TEXT, project="prj_b"))
    ours = contact("a@example.com", properties={"plan": "pro", "seats": 2})
    theirs = contact("b@example.com", list_id="lst_b", project="prj_b", properties={"plan": "pro"})
    await store.contacts.add(ours)
    await store.contacts.add(theirs)
    assert await store.properties.delete("prj_a", "prop_prj_b_plan") is False  # not ours to delete
    assert await store.properties.delete("prj_a", "prop_prj_a_plan") is True
    assert await store.properties.delete("prj_a", "prop_prj_a_plan") is False
    assert await store.properties.all("prj_a") == []
    assert (await store.contacts.get("prj_a", ours.id)).properties == {"seats": 2}
    assert (await store.contacts.get("prj_b", theirs.id)).properties == {"plan": "pro"}
