"""The blob-store contract, run over local disk and over S3 (boto3 against moto in server mode, real
HTTP): what is put comes back byte for byte at its key and at its public URL."""

from __future__ import annotations

import json
import os

import boto3
import httpx
import pytest

from adapters.blobs.local import LocalBlobs
from adapters.blobs.s3 import S3Blobs
from tests.ses_server import SesServer

DATA = bytes(range(256)) * 64


@pytest.fixture(scope="module")
def moto():
    with SesServer() as server:  # moto's server speaks every service, S3 included
        yield server


@pytest.fixture(params=["local", "s3"])
def blobs(request, tmp_path):
    if request.param == "local":
        return LocalBlobs(tmp_path / "assets", "https://relay.example.com")
    moto = request.getfixturevalue("moto")
    bucket = f"assets-{os.urandom(4).hex()}"
    boto3.client("s3", region_name="us-east-1", endpoint_url=moto.url).create_bucket(Bucket=bucket)
    return S3Blobs(bucket, prefix="uploads/", public_base=f"{moto.url}/{bucket}", endpoint_url=moto.url)


async def test_a_deleted_key_is_gone_and_deleting_it_again_is_no_error(blobs):
    await blobs.put("inbound/prj_1/inb_1-s3cr3t/message.eml", DATA, "message/rfc822", inline=False, filename="m.eml")
    await blobs.put("inbound/prj_1/inb_1-s3cr3t/1", b"kept", "text/plain", inline=False, filename="a.txt")
    await blobs.delete("inbound/prj_1/inb_1-s3cr3t/message.eml")
    assert await blobs.get("inbound/prj_1/inb_1-s3cr3t/message.eml") is None
    await blobs.delete("inbound/prj_1/inb_1-s3cr3t/message.eml")
    assert await blobs.get("inbound/prj_1/inb_1-s3cr3t/1") == b"kept"


async def test_put_then_get_returns_the_same_bytes_and_replaces(blobs):
    await blobs.put("ast_1/logo.png", DATA, "image/png", inline=True, filename="logo.png")
    assert await blobs.get("ast_1/logo.png") == DATA
    await blobs.put("ast_1/logo.png", b"again", "image/png", inline=True, filename="logo.png")
    assert await blobs.get("ast_1/logo.png") == b"again"


async def test_a_missing_key_is_none(blobs):
    assert await blobs.get("ast_missing/none.bin") is None


async def test_names_with_spaces_and_unicode_round_trip_and_urls_are_escaped(blobs):
    await blobs.put("ast_2/résumé final.pdf", DATA, "application/pdf", inline=True, filename="résumé final.pdf")
    assert await blobs.get("ast_2/résumé final.pdf") == DATA
    assert blobs.url("ast_2/résumé final.pdf").endswith("ast_2/r%C3%A9sum%C3%A9%20final.pdf")


async def test_the_local_store_never_leaves_its_folder(tmp_path):
    blobs = LocalBlobs(tmp_path / "assets", "https://relay.example.com")
    with pytest.raises(ValueError, match="leaves the store"):
        await blobs.put("../outside.txt", b"x", "text/plain", inline=False, filename="outside.txt")
    assert not (tmp_path / "outside.txt").exists()


def public_read(bucket: str, prefix: str) -> str:
    """The bucket policy an operator sets so that the asset URLs are public (README)."""
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


async def test_s3_serves_the_stored_type_and_unsafe_files_as_downloads(moto):
    bucket = f"assets-{os.urandom(4).hex()}"
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto.url)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket, "a/"))
    blobs = S3Blobs(bucket, prefix="a/", public_base=f"{moto.url}/{bucket}", endpoint_url=moto.url)
    await blobs.put("ast_3/logo.png", b"<html>x</html>", "application/octet-stream", inline=False, filename="logo.png")
    async with httpx.AsyncClient() as anonymous:
        public = await anonymous.get(blobs.url("ast_3/logo.png"))
    assert public.status_code == 200 and public.content == b"<html>x</html>"
    assert public.headers["content-type"] == "application/octet-stream"
    assert public.headers["content-disposition"].startswith("attachment")
