"""Frames in: JPEG or PNG only, their size read from the header and bounded before decoding."""

from __future__ import annotations

import io
import struct
import warnings

import cv2
import numpy as np
from PIL import Image

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CONTENT_TYPES = {"image/jpeg": "JPEG", "image/jpg": "JPEG", "image/png": "PNG"}


class BadImage(ValueError):
    """The bytes are not an acceptable frame; the message says why (it is sent to the client)."""


class UnsupportedContentType(BadImage):
    """The request declares a content type that is not a JPEG or PNG frame."""


def image_format(data: bytes) -> str:
    if data.startswith(JPEG_MAGIC):
        return "JPEG"
    if data.startswith(PNG_MAGIC):
        return "PNG"
    raise BadImage("not a JPEG or PNG image")


def header_size(data: bytes, kind: str) -> tuple[int, int]:
    """(width, height) from the header alone, before any pixel is decoded."""
    if kind == "PNG":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise BadImage("unreadable PNG header")
        return struct.unpack(">II", data[16:24])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:  # reads the header only
                return im.size
    except Exception as exc:  # noqa: BLE001 - any parser failure is the client's bad image
        raise BadImage(f"unreadable JPEG header ({type(exc).__name__})") from None


def decode_frame(data: bytes, max_pixels: int, content_type: str | None = None) -> np.ndarray:
    """Bytes -> (H, W, 3) RGB uint8. Raises :class:`BadImage` with a reason for anything else."""
    if not data:
        raise BadImage("empty body: send one JPEG or PNG frame")
    kind = image_format(data)
    if content_type is not None:
        declared = CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
        if declared is None:
            raise UnsupportedContentType(f"content type {content_type!r} is not image/jpeg or image/png")
        if declared != kind:
            raise BadImage(f"content type says {declared} but the bytes are {kind}")
    w, h = header_size(data, kind)
    if w < 16 or h < 16:
        raise BadImage(f"image too small ({w}x{h}); at least 16x16 pixels")
    if w * h > max_pixels:
        raise BadImage(f"image too large ({w}x{h} = {w * h} pixels; at most {max_pixels})")
    # Decoders fill a truncated image with grey and carry on; the end markers tell.
    if (kind == "JPEG" and b"\xff\xd9" not in data[-64:]) or (kind == "PNG" and b"IEND" not in data[-32:]):
        raise BadImage(f"truncated {kind} data (no end marker)")
    frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if frame is None or frame.shape[:2] != (h, w):
        raise BadImage(f"corrupt or truncated {kind} data")
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def encode_jpeg(frame: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()
