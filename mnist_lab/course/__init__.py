"""Course material shipped with the package: the reference solutions of the exercise track
(`solutions/`), and what builds the course site from the real project: `site_assets` (figures
and numbers from real runs, for `make docs-assets`) and `site_tables` (tables generated from the
code on every `mkdocs build`)."""
