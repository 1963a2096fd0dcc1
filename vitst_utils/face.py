"""Face crop: find the largest face in a photo (OpenCV's Haar cascade) and frame it as the
training portraits are framed, so `inference --face-crop` shows the model what it learnt on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]  # x, y, width, height
Detector = Callable[[np.ndarray], Sequence[Box]]  # gray uint8 (H, W) -> face boxes

FACE_CASCADE = "haarcascade_frontalface_default.xml"
FACE_SCALE = 1.9  # crop side / face box side
FACE_LIFT = 0.15  # crop centre above the box centre, in box heights
DETECT_SIDE = 1024  # detection runs on a copy at most this many pixels a side (speed)


class FaceDetectorUnavailable(RuntimeError):
    """OpenCV or its bundled Haar cascade is missing."""


def face_detector() -> Detector:
    """OpenCV's bundled frontal-face Haar cascade (opencv-python(-headless) 4.x ships the XML
    files in `cv2.data.haarcascades`; 5.0 does not)."""
    fix = "pip install 'opencv-python-headless>=4.8,<5'"
    try:
        import cv2
    except ImportError as e:
        raise FaceDetectorUnavailable(f"face detection needs OpenCV: {fix}") from e
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = Path(folder or "") / FACE_CASCADE
    if not folder or not path.is_file():
        raise FaceDetectorUnavailable(
            f"face detection needs OpenCV's bundled {FACE_CASCADE}, which OpenCV "
            f"{cv2.__version__} does not ship (5.0 dropped cv2.data): {fix}"
        )
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise FaceDetectorUnavailable(f"OpenCV could not read {path}: {fix}")

    def detect(gray: np.ndarray) -> Sequence[Box]:
        side = max(24, min(gray.shape) // 20)
        found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(side,) * 2)
        return [tuple(int(v) for v in box) for box in found]

    return detect


def find_face(image: Image.Image, detector: Detector | None = None) -> Box | None:
    """The largest face in `image` as (x, y, w, h), or None."""
    detector = detector or face_detector()
    scale = min(1.0, DETECT_SIDE / max(image.size))
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.BILINEAR)
    boxes = detector(np.asarray(image.convert("L")))
    if len(boxes) == 0:
        return None
    x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
    return tuple(round(v / scale) for v in (x, y, w, h))


def face_crop_box(face: Box, image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The crop (left, top, right, bottom) around a face box, framed like the training
    portraits: CelebA's aligned 178 x 218 images, centre-cropped square by the transform, show
    the face box at about half the side, a little below the centre. So: a square of side
    FACE_SCALE x the box, centred FACE_LIFT box heights above the box centre, moved inside
    the image (and shrunk to the image's short side if it is larger)."""
    x, y, w, h = face
    width, height = image_size
    side = min(round(FACE_SCALE * max(w, h)), width, height)
    cx, cy = x + w / 2, y + h / 2 - FACE_LIFT * h
    left = int(min(max(round(cx - side / 2), 0), width - side))
    top = int(min(max(round(cy - side / 2), 0), height - side))
    return left, top, left + side, top + side


def crop_face(
    image: Image.Image, detector: Detector | None = None
) -> tuple[Image.Image, Box | None]:
    """(the face crop, the face box), or (the image unchanged, None) when no face is found."""
    face = find_face(image, detector)
    if face is None:
        return image, None
    return image.crop(face_crop_box(face, image.size)), face
