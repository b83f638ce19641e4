"""Models: the registry that names them, the recipes that train them, and the built-in zoo.

Importing this package is cheap (no TensorFlow): the zoo in `mnist_lab.models.zoo` registers
itself when the registry first discovers models.
"""
