"""Exercise 1, the data: loading MNIST and the first facts about it, checked against numpy.

`describe` is tried on the test split, on a random part of the training set and on made-up
images, so only a summary computed from its arguments passes.
"""

import numpy as np

EXERCISE = "ex01_data.py"
DESCRIBE_KEYS = ("count", "image_shape", "dtype", "pixel_range", "per_class")


def test_load_data_returns_a_train_pair_and_a_test_pair(exercise, mnist):
    result = exercise.load_data()
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        "load_data should return two pairs, ((x_train, y_train), (x_test, y_test)), "
        f"but it returned {type(result).__name__} {str(result)[:60]}"
    )
    (x_train, y_train), (x_test, y_test) = result
    expected = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28)}
    expected["y_test"] = (10000,)
    got = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for name, shape in expected.items():
        assert np.shape(got[name]) == shape, (
            f"{name} should have shape {shape}, but it has shape {np.shape(got[name])}: "
            "are the pairs in the order (train, test), each as (images, labels)?"
        )


def test_load_data_gives_the_library_arrays_unchanged(exercise, mnist):
    (x_train, y_train), (x_test, y_test) = exercise.load_data()
    for name, got, want in [
        ("x_train", x_train, mnist.train.images),
        ("y_train", y_train, mnist.train.labels),
        ("x_test", x_test, mnist.test.images),
        ("y_test", y_test, mnist.test.labels),
    ]:
        assert got.dtype == np.uint8, (
            f"{name} should keep the raw uint8 values of load_mnist (scaling comes in exercise "
            f"2), but it has dtype {got.dtype}"
        )
        assert np.array_equal(got, want), f"{name} should be load_mnist's array, unchanged"


def test_pixel_range_of_mnist_is_0_to_255(exercise, mnist):
    result = exercise.pixel_range(mnist.train.images)
    assert tuple(result) == (0, 255), (
        f"the pixels of MNIST go from 0 (black) to 255 (white), but pixel_range gave {result}"
    )
    assert all(type(value) is int for value in result), (
        "pixel_range should return Python ints (wrap numpy values in int(...)), "
        f"but it returned {[type(value).__name__ for value in result]}"
    )


def test_pixel_range_is_computed_from_the_images(exercise):
    images = np.array([[[3, 7], [200, 9]], [[12, 40], [5, 150]]], dtype=np.uint8)
    result = exercise.pixel_range(images)
    assert tuple(result) == (3, 200), (
        f"for pixels from 3 to 200 pixel_range should give (3, 200), but it gave {result}: "
        "compute the range from the images rather than writing (0, 255)"
    )


def test_images_per_class_counts_each_digit_of_mnist(exercise, mnist):
    labels = mnist.train.labels
    result = np.asarray(exercise.images_per_class(labels))
    expected = np.bincount(labels, minlength=10)
    assert result.shape == (10,), (
        f"images_per_class should give 10 counts, one per digit, but it gave shape {result.shape}"
    )
    assert np.array_equal(result, expected), (
        f"the training set has {expected.tolist()} images of the digits 0..9, "
        f"but images_per_class gave {result.tolist()}"
    )


def test_images_per_class_counts_zero_for_a_missing_digit(exercise):
    labels = np.array([0, 0, 3, 9, 3, 3], dtype=np.uint8)
    result = np.asarray(exercise.images_per_class(labels))
    expected = [2, 0, 0, 3, 0, 0, 0, 0, 0, 1]
    assert result.tolist() == expected, (
        f"for the labels {labels.tolist()} images_per_class should give {expected} "
        f"(a 0 for each digit that never appears), but it gave {result.tolist()}"
    )


def summary_of(exercise, images, labels) -> dict:
    """describe(images, labels) with each value in a plain form that compares with ==."""
    result = exercise.describe(images, labels)
    assert isinstance(result, dict), f"describe should return a dict, got {type(result).__name__}"
    missing = sorted(set(DESCRIBE_KEYS) - set(result))
    assert not missing, f"describe's dict is missing the keys {missing}; it has {sorted(result)}"
    return {
        "count": result["count"],
        "image_shape": tuple(result["image_shape"]),
        "dtype": str(result["dtype"]),
        "pixel_range": tuple(result["pixel_range"]),
        "per_class": list(np.asarray(result["per_class"]).tolist()),
    }


def test_describe_summarizes_the_test_split(exercise, mnist):
    images, labels = mnist.test
    got = summary_of(exercise, images, labels)
    expected = {
        "count": 10000,
        "image_shape": (28, 28),
        "dtype": "uint8",
        "pixel_range": (0, 255),
        "per_class": np.bincount(labels, minlength=10).tolist(),
    }
    for key, want in expected.items():
        assert got[key] == want, (
            f"describe(...)[{key!r}] should be {want!r} for the test split, but it is {got[key]!r}"
        )


def test_describe_summarizes_a_random_part_of_the_training_set(exercise, mnist):
    rng = np.random.default_rng(11)
    chosen = rng.choice(len(mnist.train.labels), size=1234, replace=False)
    images, labels = mnist.train.images[chosen], mnist.train.labels[chosen]
    got = summary_of(exercise, images, labels)
    for key, want in [("count", 1234), ("per_class", np.bincount(labels, minlength=10).tolist())]:
        assert got[key] == want, (
            f"for 1,234 training images drawn at random, describe(...)[{key!r}] should be "
            f"{want!r}, but it is {got[key]!r}: compute each fact from the arrays describe is "
            "given, not from the test split"
        )


def test_describe_summarizes_made_up_images(exercise):
    images = np.array(
        [[[7, 8, 9, 10], [11, 12, 13, 200]], [[30, 31, 32, 33], [34, 35, 36, 37]]] * 3,
        dtype=np.uint8,
    )
    labels = np.array([4, 4, 1, 9, 4, 1], dtype=np.uint8)
    got = summary_of(exercise, images, labels)
    expected = {
        "count": 6,
        "image_shape": (2, 4),
        "dtype": "uint8",
        "pixel_range": (7, 200),
        "per_class": [0, 2, 0, 0, 3, 0, 0, 0, 0, 1],
    }
    for key, want in expected.items():
        assert got[key] == want, (
            f"for 6 made-up images of 2x4 pixels from 7 to 200, describe(...)[{key!r}] should "
            f"be {want!r}, but it is {got[key]!r}: compute each fact from the arrays describe "
            "is given"
        )
