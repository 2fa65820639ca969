import pytest

from molmo_agent.errors import PointParseError
from molmo_agent.points import Point, Space, parse_points, to_css


def test_molmo_v1_point():
    [p] = parse_points('Sure. <point x="61.5" y="40.6" alt="search button">search button</point>')
    assert (p.x, p.y, p.space, p.label) == (61.5, 40.6, Space.PERCENT, "search button")


def test_molmo_v1_points():
    pts = parse_points('<points x1="10.0" y1="20.0" x2="30.5" y2="40.5" alt="boxes">boxes</points>')
    assert [(p.x, p.y) for p in pts] == [(10.0, 20.0), (30.5, 40.5)]


def test_molmo2_coords():
    pts = parse_points('<points coords="1 1 900 400 2 911 800">buttons</points>')
    assert [(p.x, p.y, p.space, p.image_index) for p in pts] == [
        (900, 400, Space.PERMILLE, 1), (911, 800, Space.PERMILLE, 1)]
    assert pts[0].label == "buttons"


def test_molmo2_coords_several_images_and_alt():
    pts = parse_points('<points alt="dot" coords="1 1 050 060; 2 1 100 200">dot</points>')
    assert [(p.image_index, p.x, p.y) for p in pts] == [(1, 50, 60), (2, 100, 200)]


def test_molmoweb_json_and_click():
    text = '{"thought": "the search box", "action": {"name": "click", "x": 61.5, "y": 40.6}}'
    assert parse_points(text)[0].x == 61.5
    assert parse_points('{"name": "click", "button": "left", "x": 2.5, "y": 99}')[0].y == 99, "MolmoWeb grounding"
    assert (parse_points("Click(12.5, 99)")[0].y) == 99


@pytest.mark.parametrize("text", [
    "There are none.", "", '<point x="120" y="10">off the image</point>',
    '<points coords="1 1 900">short</points>', '<point x="nan" y="3">x</point>', "Click(1e999, 3)",
    '{"action": {"name": "click"}}',
])
def test_unusable_text_raises_parse_error(text):
    with pytest.raises(PointParseError):
        parse_points(text)


@pytest.mark.parametrize("scale", [1, 1.5, 2])
def test_mapping_is_independent_of_scale_and_resize(scale):
    viewport = (1280, 720)
    image = (int(1280 * scale), int(720 * scale))
    on_image = Point(x=640 * scale, y=180 * scale, space=Space.IMAGE)
    assert to_css(on_image, image_size=image, viewport=viewport) == (640, 180)
    percent = Point(x=50, y=25, space=Space.PERCENT)
    assert to_css(percent, image_size=(640, 360), viewport=viewport) == (640, 180)
    assert to_css(Point(x=1000, y=1000, space=Space.PERMILLE), image_size=image, viewport=viewport) == (1279, 719)
