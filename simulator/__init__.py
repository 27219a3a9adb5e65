"""The pen's firmware, simulated. Uses firmware_bridge's protocol codec and nothing else of ours."""
