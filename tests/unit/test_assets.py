"""Assets over the memory adapters: names, categories from content, the size limit, listing, and
attaching an uploaded asset to a send."""

from __future__ import annotations

import pytest

from autorelay_core.domain.assets import MAX_BYTES, safe_name, served_inline
from autorelay_core.errors import Invalid, NotFound, TooLarge
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.usecases.deliver_email import drain
from autorelay_core.usecases.manage_assets import list_assets, upload_asset
from autorelay_core.usecases.send_email import AttachmentInput, send_email
from tests.unit.test_send_email import command, live_key

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6300010000050001"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("logo.png", "logo.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report final.pdf", "report final.pdf"),
        ('bad"name<script>.html', "bad_name_script_.html"),
        ("line\r\nbreak.txt", "line__break.txt"),
        (".htaccess", "htaccess"),
        ("", "file"),
        (None, "file"),
        ("...", "file"),
        ("résumé.pdf", "résumé.pdf"),
        ("a" * 300 + ".png", "a" * 196 + ".png"),
    ],
)
def test_file_names_are_sanitised(raw, expected):
    assert safe_name(raw) == expected


@pytest.mark.parametrize(
    ("data", "name", "content_type", "category", "inline"),
    [
        (PNG, "photo.jpg", "image/png", "image", True),
        (PDF, "x.bin", "application/pdf", "pdf", True),
        (HTML, "logo.png", "application/octet-stream", "other", False),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            "a.svg",
            "application/octet-stream",
            "other",
            False,
        ),
        (b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 64, "song.mp3", "audio/mpeg", "audio", True),
    ],
)
async def test_the_category_comes_from_the_content_not_the_name(deps, data, name, content_type, category, inline):
    key = await live_key(deps)
    asset = await upload_asset(deps, key, name, data)
    assert (asset.content_type, asset.category, asset.size) == (content_type, category, len(data))
    assert deps.blobs.files[asset.key] == (data, content_type, inline)
    assert served_inline(asset.content_type) is inline


async def test_exactly_2_mib_is_accepted_and_one_byte_more_refused(deps):
    key = await live_key(deps)
    assert (await upload_asset(deps, key, "big.png", PNG + b"\0" * (MAX_BYTES - len(PNG)))).size == MAX_BYTES
    with pytest.raises(TooLarge):
        await upload_asset(deps, key, "big.png", PNG + b"\0" * (MAX_BYTES - len(PNG) + 1))
    with pytest.raises(Invalid, match="empty"):
        await upload_asset(deps, key, "none.png", b"")


async def test_listing_is_newest_first_filtered_and_project_scoped(deps, clock):
    key = await live_key(deps)
    other = await live_key(deps, name="other")
    uploaded = []
    for n in range(5):
        uploaded.append(await upload_asset(deps, key, f"{n}.png", PNG if n % 2 else PDF))
        clock.advance(seconds=1)
    await upload_asset(deps, other, "theirs.png", PNG)
    page = await list_assets(deps, key, None, CursorRequest(limit=2))
    assert [a.name for a in page.items] == ["4.png", "3.png"] and page.has_more
    rest = await list_assets(deps, key, None, CursorRequest(limit=10, after=page.items[-1].id))
    assert [a.name for a in rest.items] == ["2.png", "1.png", "0.png"] and not rest.has_more
    images = await list_assets(deps, key, "image", CursorRequest(limit=10))
    assert [a.name for a in images.items] == ["3.png", "1.png"]
    with pytest.raises(Invalid, match="category must be one of"):
        await list_assets(deps, key, "images", CursorRequest(limit=10))
    with pytest.raises(Invalid, match="cursor is not the id of an asset of this project"):
        await list_assets(deps, other, None, CursorRequest(limit=10, after=uploaded[0].id))


async def test_a_send_attaches_an_uploaded_asset_of_its_own_project_only(deps, mailer):
    key = await live_key(deps)
    other = await live_key(deps, name="other")
    asset = await upload_asset(deps, key, "invoice.pdf", PDF)
    theirs = await upload_asset(deps, other, "theirs.pdf", PDF)
    await send_email(deps, key, command(attachments=[AttachmentInput(asset_id=asset.id)]))
    await drain(deps)
    (attached,) = mailer.sent[0].attachments
    assert (attached.filename, attached.content, attached.content_type) == ("invoice.pdf", PDF, "application/pdf")
    with pytest.raises(NotFound, match=f"asset {theirs.id} not found"):
        await send_email(deps, key, command(attachments=[AttachmentInput(asset_id=theirs.id)]))
    with pytest.raises(Invalid, match="either content"):
        await send_email(
            deps, key, command(attachments=[AttachmentInput(asset_id=asset.id, content="aGk=", filename="x")])
        )
    with pytest.raises(Invalid, match="filename is required"):
        await send_email(deps, key, command(attachments=[AttachmentInput(content="aGk=")]))
