"""Face crop (face.py): OpenCV's Haar cascade finds the face, the crop is framed like the
training portraits and stays inside the image."""

from PIL import Image

from vitst_utils.data import load_image
from vitst_utils.face import FACE_SCALE, crop_face, face_crop_box, find_face


def test_face_crop_with_the_real_haar_cascade(photo):
    image = load_image(photo)
    face = find_face(image)
    assert face is not None, "the Haar cascade no longer finds the drawn face"
    x, y, w, h = face
    assert 400 <= x and x + w <= 560 and 100 <= y and y + h <= 300  # inside the pasted face
    crop, found = crop_face(image)
    assert found == face and crop.width == crop.height >= 1.8 * w
    left, top, right, bottom = face_crop_box(face, image.size)
    assert left <= x and x + w <= right and top <= y and y + h <= bottom
    assert find_face(Image.new("RGB", (640, 480), (128, 128, 128))) is None


def test_face_crop_box_is_framed_and_stays_inside():
    def detector(gray):
        return [(10, 10, 20, 20), (600, 100, 40, 40)]  # the larger one is near the edge

    image = Image.new("RGB", (640, 480))
    face = find_face(image, detector)
    assert face == (600, 100, 40, 40)
    left, top, right, bottom = face_crop_box(face, image.size)
    assert right - left == bottom - top == round(FACE_SCALE * 40)
    assert right == 640 and top < 100  # pushed back inside; framed above the box centre
    assert face_crop_box((0, 0, 400, 400), (300, 200)) == (100, 0, 300, 200)  # shrunk to fit
