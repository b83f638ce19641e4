"""`python -m mnist_lab` runs the CLI, for environments without the console script on PATH."""

from mnist_lab.cli import main

main()
