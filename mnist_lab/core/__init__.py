"""What every layer stands on: errors, atomic files, run folders, the machine, TensorFlow."""
