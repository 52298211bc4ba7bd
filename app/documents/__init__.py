"""Documents and charts: PDF pages, page ranges, tile grids and token costs, the context meter.

Plain Python (Pillow, pypdfium2, tokenizers): no Qt and no torch, so the window and the
command line can use every module here before anything reaches the model worker.
"""
