"""Treatment profiles, clinic policy and effective safety limits: pure data and pure functions."""
