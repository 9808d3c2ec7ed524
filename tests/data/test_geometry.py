from labelloop.data.geometry import DEFAULT_SIDE, decide_channels, decide_image_size


def test_any_colour_image_makes_the_project_rgb() -> None:
    assert decide_channels(["L", "L", "I;16"]) == 1
    assert decide_channels(["L", "RGB"]) == 3
    assert decide_channels(["CMYK"]) == 3
    assert decide_channels(["LA", "P"]) == 3  # a palette may hold colour
    assert decide_channels([]) == 1


def test_small_images_of_one_size_keep_it_and_the_rest_get_the_default() -> None:
    assert decide_image_size([(8, 8), (8, 8)]) == (8, 8)
    assert decide_image_size([(28, 28)]) == (28, 28)
    assert decide_image_size([(8, 8), (9, 8)]) == (DEFAULT_SIDE, DEFAULT_SIDE)
    assert decide_image_size([(300, 200)]) == (DEFAULT_SIDE, DEFAULT_SIDE)
