"""Reference solutions of the exercises, one file per exercise, with SOLUTION markers.

Each exercises/exNN_*.py stub is this file with every `# SOLUTION` ... `# END SOLUTION` block
replaced by one `raise NotImplementedError(...)` line; `mnist-lab exercises reset N` rebuilds it
that way and `mnist-lab exercises solution N` shows the file once exercise N passes.
"""
