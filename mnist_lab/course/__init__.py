"""Course material shipped with the package: the reference solutions of the exercise track."""
