"""What the app writes and runs to prove the engine: demo checkpoints and the GPU check.

The demo checkpoint (Maverick's architecture in miniature, random weights) and its FP8
twin, the 128-expert wide demo, checkpoints at Maverick's real widths for the GPU check,
and the check itself (`scripts/gpu-check.sh`) with its FP8 proof and its wheels.
"""
