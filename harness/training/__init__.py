"""The arrays -> trained runs: the tier's inputs on device, the models, one jitted program over every seed and
arm, and the run cache through which every run is obtained (runs.py)."""
