"""Uploaded files in an S3 bucket (boto3), served by the bucket (or a CDN in front of it) at
`<public base URL>/<prefix><key>`, with the type, nosniff-safe disposition stored on the object."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import boto3
from botocore.exceptions import ClientError


class S3Blobs:
    def __init__(
        self, bucket: str, *, prefix: str = "", public_base: str = "", region: str = "us-east-1", endpoint_url: str = ""
    ) -> None:
        self._bucket = bucket
        self._prefix = prefix
        self._base = (public_base or f"https://{bucket}.s3.{region}.amazonaws.com").rstrip("/")
        self._client = boto3.client("s3", region_name=region, endpoint_url=endpoint_url or None)

    async def put(self, key: str, data: bytes, content_type: str, *, inline: bool, filename: str) -> None:
        disposition = "inline" if inline else f"attachment; filename*=UTF-8''{quote(filename)}"
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self._bucket,
            Key=self._prefix + key,
            Body=data,
            ContentType=content_type,
            ContentDisposition=disposition,
            CacheControl="public, max-age=31536000, immutable",
        )

    async def get(self, key: str) -> bytes | None:
        try:
            answer = await asyncio.to_thread(self._client.get_object, Bucket=self._bucket, Key=self._prefix + key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return await asyncio.to_thread(answer["Body"].read)

    async def delete(self, key: str) -> None:
        # S3 answers a missing key's delete with success too.
        await asyncio.to_thread(self._client.delete_object, Bucket=self._bucket, Key=self._prefix + key)

    def url(self, key: str) -> str:
        return f"{self._base}/{quote(self._prefix + key)}"
