"""Model downloads from the Hugging Face hub: plain Python, no Qt, no torch.

`hub` reads what a repository holds (files, sizes, checksums) and turns the hub's
refusals into sentences; `plan` is that list and the disk-space check; `transfer`
fetches the files with `huggingface_hub`, keeping partial files so that a paused,
failed or killed download continues where it stopped; `progress` measures speed
and time left. The CLI (`maverick-desk models download`) and the window's Download
dialog drive the same `Download`.
"""
