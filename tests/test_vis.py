import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from inspect_cv.detection.core import Detections
from inspect_cv.vis import draw_detections, place_tag, tag_text


def test_tag_text_lists_each_class_once_best_first():
    assert tag_text([("knife", 0.3), ("wrench", 0.47), ("knife", 0.35)]) == "wrench 0.47 / knife 0.35"
    assert tag_text([(c, 0.9 - i / 10) for i, c in enumerate("abcde")]) == "a 0.90 / b 0.80 / c 0.70 +2"


@given(st.lists(st.tuples(st.integers(-50, 700), st.integers(-50, 500), st.integers(5, 300), st.integers(5, 300)),
                min_size=1, max_size=8))
def test_tags_stay_on_the_canvas_and_apart(specs):
    h, w, size = 480, 640, (120, 20)
    placed = []
    for x, y, bw, bh in specs:
        tx, ty = place_tag((x, y, x + bw, y + bh), size, (h, w), placed)
        assert 0 <= tx <= w - size[0] and 0 <= ty <= h - size[1]
        r = (tx, ty, tx + size[0], ty + size[1])
        # 8 tags of 120 x 20 always fit beside each other on 640 x 480, so none may cover another
        assert not any(r[0] < q[2] and q[0] < r[2] and r[1] < q[3] and q[1] < r[3] for q in placed)
        placed.append(r)


def test_one_object_named_twice_is_drawn_once():
    img = np.full((200, 300, 3), 230, np.uint8)
    boxes = np.array([[40, 60, 200, 120], [42, 61, 198, 122]], np.float32)
    det = Detections(boxes, np.array([0.47, 0.45], np.float32), np.array([3, 1]), ("gun", "knife", "pliers", "wrench"))
    twice = draw_detections(img, det)
    once = draw_detections(img, det[[0]])
    # the second box is not drawn: the pictures differ only in the tag (which now names both)
    outside_tags = np.ones(img.shape[:2], bool)
    outside_tags[:60, :] = False
    assert (twice[outside_tags] == once[outside_tags]).all()
    assert not (twice == once).all()
    assert len(det) == 2                     # drawing never changes the results
