"""Many trainings at once: the executors, and benchmark, sweep and grade built on them."""
