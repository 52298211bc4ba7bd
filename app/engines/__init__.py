"""Engines that answer over the network: OpenAI-compatible servers (vLLM, SGLang, transformers).

Plain Python, no Qt and no torch: the window drives these under qasync and the command
line through `asyncio.run`. They speak in the same protocol events as the local worker
(`app.workers.protocol`), so the window treats both engines alike.
"""
