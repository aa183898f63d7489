"""The pacing settings port over every storage adapter: rules and warm-ups round-trip, replace by
name, and drop."""

from __future__ import annotations

from datetime import date

from autorelay_core.domain.pacing import pace_rule, warmup


async def test_pace_rules_round_trip_replace_and_drop(store):
    assert await store.pacing.rules() == []
    gmail = pace_rule("gmail", 600)
    shops = pace_rule("shops", 120, ("Shop.example", "store.example"))
    await store.pacing.set_rule(shops)
    await store.pacing.set_rule(gmail)
    assert await store.pacing.rules() == [gmail, shops]
    assert shops.domains == ("shop.example", "store.example")
    slower = pace_rule("gmail", 300)
    await store.pacing.set_rule(slower)
    assert await store.pacing.rules() == [slower, shops]
    assert await store.pacing.drop_rule("gmail")
    assert not await store.pacing.drop_rule("gmail")
    assert await store.pacing.rules() == [shops]


async def test_warmups_round_trip_replace_and_drop(store):
    first = warmup("News.Acme.test", date(2026, 11, 30), (50, 100, 200))
    await store.pacing.set_warmup(first)
    assert await store.pacing.warmups() == [first]
    assert first.domain == "news.acme.test"
    later = warmup("news.acme.test", date(2026, 12, 2), (500, 1000))
    await store.pacing.set_warmup(later)
    assert await store.pacing.warmups() == [later]
    assert await store.pacing.drop_warmup("news.acme.test")
    assert not await store.pacing.drop_warmup("news.acme.test")
    assert await store.pacing.warmups() == []
