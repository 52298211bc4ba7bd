"""Checkpoint folders read without torch: what they hold, what fits, the model library.

Config sizes and parameter counts, safetensors headers, the memory a model and its
context take, the preflight, GPUs from nvidia-smi, the allowed transformers range. The
UI, the command line and the engine all ask here; nothing here imports torch.
"""
