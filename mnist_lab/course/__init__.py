"""The course: the exercise track (catalog, checks, hints, resets) and its reference solutions.

`solutions/` ships with the package (the exercise tests run against it); what builds the course
site from the project lives beside the pages, in `docs/_tools/`.
"""
