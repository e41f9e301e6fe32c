"""Photos taken on site (现场照片): checked, saved under the node's media folder, served back.

A grid worker's phone uploads a photo with a resolve, a verification or a
patrol report (`dcc.Upload` gives a base64 data URL). `save_photo` keeps it
only if it is really an image of a kind every browser shows (JPEG, PNG,
GIF, WebP: the bytes are sniffed, the client's declared type and file name
are never trusted) and no bigger than `MAX_PHOTO_BYTES`; it is stored under
a random name, so a name says nothing about who sent it and cannot be
guessed. `install` adds the `/media/<name>` route that serves photos back
(behind the shell's sign-in guard, like every route but the login page).
The URL goes into the command's `photo_url`; the store never holds the image.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from pathlib import Path
from typing import Final

import flask

MAX_PHOTO_BYTES: Final = 5 * 1024 * 1024
MEDIA_PREFIX: Final = "/media/"
ACCEPT: Final = "image/*"  # what the phone's file picker offers (camera included)
_ENDPOINT: Final = "onegrid_media"
_NAME: Final = re.compile(r"^[0-9a-f]{32}\.(jpg|png|gif|webp)$")
# file extension -> the leading bytes that make a file that kind of image
_MAGIC: Final = {"jpg": (b"\xff\xd8\xff",), "png": (b"\x89PNG\r\n\x1a\n",),
                 "gif": (b"GIF87a", b"GIF89a")}
_MIME: Final = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


class PhotoRefused(ValueError):
    """The upload is not kept. `code` names why (`no_media`, `not_image`, `too_big`)."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code


def image_kind(data: bytes) -> str | None:
    """Return the file extension of an image's bytes (jpg, png, gif, webp), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((ext for ext, heads in _MAGIC.items() if data.startswith(heads)), None)


def decode_upload(contents: str | None) -> bytes:
    """Return the bytes of a `dcc.Upload` data URL that declares an image.

    Raises `PhotoRefused` for anything else, or when it is over the size
    limit (checked on the encoded length first, so a huge upload is never
    decoded).
    """
    if not contents or not isinstance(contents, str) or "," not in contents:
        raise PhotoRefused("not_image", "the upload is not a file")
    header, _, body = contents.partition(",")
    if not header.startswith("data:image/") or not header.endswith(";base64"):
        raise PhotoRefused("not_image", "the file is not an image")
    if len(body) > (MAX_PHOTO_BYTES * 4) // 3 + 4:
        raise PhotoRefused("too_big", f"the photo is over {MAX_PHOTO_BYTES // 2**20} MB")
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise PhotoRefused("not_image", "the file could not be read") from None
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused("too_big", f"the photo is over {MAX_PHOTO_BYTES // 2**20} MB")
    return data


def save_photo(media_dir: Path | None, contents: str | None) -> str:
    """Save an uploaded photo under `media_dir` (created if missing); return its new name.

    Raises `PhotoRefused` when the node keeps no photos (`media_dir` None),
    or the upload is not a JPEG, PNG, GIF or WebP image within the limit.
    """
    if media_dir is None:
        raise PhotoRefused("no_media", "this node keeps no photos")
    data = decode_upload(contents)
    kind = image_kind(data)
    if kind is None:
        raise PhotoRefused("not_image", "the file is not a JPEG, PNG, GIF or WebP image")
    folder = Path(media_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{kind}"
    (folder / name).write_bytes(data)
    return name


def is_photo_name(name: object) -> bool:
    """Return whether `name` has the shape of a saved photo's name (nothing else is served)."""
    return isinstance(name, str) and _NAME.match(name) is not None


def photo_url(media_dir: Path | None, name: object) -> str | None:
    """Return the URL of a saved photo, or None when `name` is not one in `media_dir`."""
    if media_dir is None or not is_photo_name(name) or not (Path(media_dir) / name).is_file():
        return None
    return f"{MEDIA_PREFIX}{name}"


def install(server: flask.Flask, media_dir: Path | None) -> None:
    """Add the `/media/<name>` route serving saved photos (once per server)."""
    if _ENDPOINT in server.view_functions:
        return

    def serve_photo(name: str):
        if media_dir is None or not is_photo_name(name):
            flask.abort(404)
        response = flask.send_from_directory(Path(media_dir).resolve(), name,
                                             mimetype=_MIME[name.rsplit(".", 1)[1]],
                                             max_age=86400)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    server.add_url_rule(f"{MEDIA_PREFIX}<name>", _ENDPOINT, serve_photo)
