"""Exercise 4: the reference CNN, layer by layer.

The course's reference network has eight layers and reached 98.90% test accuracy after 5
epochs at seed 0 (`make docs-assets`, 2026-11-25). A 3x3 convolution slides 32 small filters
over the image, each learning to respond to a local pattern (an edge, the end of a stroke);
2x2 max pooling keeps the strongest response of each 2x2 patch, halving the size so the next
convolution sees a larger part of the digit. A second block with 64 filters combines strokes
into shapes. Flatten lays the 5x5x64 feature maps out as 1,600 numbers, a dense layer of 128
units mixes them, and a softmax layer gives one probability per digit.

    layer                    output shape     parameters
    Input (28, 28, 1)        (28, 28, 1)      0
    Conv2D 32, 3x3, ReLU     (26, 26, 32)     320      = 32 * (3*3*1) + 32 biases
    MaxPooling2D 2x2         (13, 13, 32)     0
    Conv2D 64, 3x3, ReLU     (11, 11, 64)     18,496   = 64 * (3*3*32) + 64
    MaxPooling2D 2x2         (5, 5, 64)       0
    Flatten                  (1600,)          0
    Dense 128, ReLU          (128,)           204,928  = 128 * 1600 + 128
    Dense 10, softmax        (10,)            1,290    = 10 * 128 + 10
                                              225,034 in all

Write the two functions below, then run `mnist-lab exercises check 4`.

Course page: docs/exercises/04-reference-cnn.md
"""

import keras


def conv_block(filters: int) -> list:
    """Two layers: a 3x3 convolution of `filters` filters with ReLU, then 2x2 max pooling."""
    # TODO: return a list of two layers: a Conv2D (`filters` filters, 3x3, ReLU) then a 2x2 MaxPooling2D
    raise NotImplementedError("Exercise 4: return a list of two layers: a Conv2D (`filters` filters, 3x3, ReLU) then a 2x2 MaxPooling2D. Run 'mnist-lab exercises hint 4' for a hint.")


def build_reference() -> keras.Model:
    """The reference CNN of the table above, uncompiled (exercise 5 compiles it)."""
    # TODO: return a keras.Sequential of the input, conv_block(32), conv_block(64), Flatten and the two Dense layers
    raise NotImplementedError("Exercise 4: return a keras.Sequential of the input, conv_block(32), conv_block(64), Flatten and the two Dense layers. Run 'mnist-lab exercises hint 4' for a hint.")
