"""The loaded model as a local OpenAI-compatible API, shared with the window.

Plain Python, no Qt, no torch: it talks to the worker through `app.workers.client`.
`scheduler` decides who generates next, `shared_model` runs one request on the worker,
`chat_request` and `image_urls` turn an OpenAI request into the worker's turns, and
`http_app` is the Starlette application that `maverick-desk serve` runs under uvicorn.
"""
