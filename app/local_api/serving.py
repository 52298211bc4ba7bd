"""The whole local API put together: worker client, router, scheduler, model, HTTP server.

`maverick-desk serve`, the tests and the benchmark make one with their own worker, which
is brought back after it dies (`worker_revival`).
The window will hand in the `WorkerClient` and `EventRouter` it already has, so the
model it loaded is the one served, and read `scheduler` for what it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.local_api.api_server import ApiServer
from app.local_api.chat_request import RequestLimits
from app.local_api.event_router import EventRouter
from app.local_api.http_app import ApiSettings, build_app
from app.local_api.image_urls import MIB, ImagePolicy
from app.local_api.scheduler import Scheduler, ServingState
from app.local_api.shared_model import SharedModel
from app.local_api.worker_revival import WorkerRevival
from app.workers import protocol as p
from app.workers.client import WorkerClient


@dataclass(frozen=True)
class ServeOptions:
    """Where to listen and what to accept; see `maverick-desk serve --help`."""

    host: str = "127.0.0.1"
    port: int = 8790
    api_key: str | None = field(default=None, repr=False)
    max_queue: int = 8
    max_body_bytes: int = 64 * MIB
    image_limit: int = 5
    fetch_image_urls: bool = False
    cors_origins: tuple[str, ...] = ()
    # Conversations whose KV cache the worker keeps (several programs: raise it).
    prompt_cache_entries: int = p.DEFAULT_PROMPT_CACHE_ENTRIES
    prompt_cache_bytes: int = 0  # 0: half of the free device memory

    def settings(self) -> ApiSettings:
        return ApiSettings(
            api_key=self.api_key,
            max_body_bytes=self.max_body_bytes,
            limits=RequestLimits(image_limit=self.image_limit),
            images=ImagePolicy(fetch_http=self.fetch_image_urls),
            cors_origins=self.cors_origins,
            host=self.host,
        )


class LocalApi:
    """Serves one worker's model over HTTP; `close` stops the server (and an owned worker)."""

    def __init__(
        self,
        options: ServeOptions,
        client: WorkerClient | None = None,
        router: EventRouter | None = None,
        say: Callable[[str], None] = lambda text: None,
    ) -> None:
        self.options = options
        self.router = router or EventRouter()
        self._owns_client = client is None
        self.client = client or WorkerClient(on_event=self.router)
        self.scheduler = Scheduler(max_waiting=options.max_queue)
        self.model = SharedModel(self.client, self.router, self.scheduler)
        # A worker of its own is brought back after it dies (the window restarts its own).
        self.revival: WorkerRevival | None = None
        self._checkpoint: tuple[str, bool] | None = None
        if self._owns_client:
            self.revival = WorkerRevival(self.client, self.model, self._reload, say)
            self.model.revive = self.revival.wanted
        if self.router.fallback is None:
            self.router.fallback = self._on_unrouted
        self.server = ApiServer(
            build_app(self.model, options.settings()), options.host, options.port
        )

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def running(self) -> bool:
        return self.server.running

    def start(self) -> None:
        """Start the worker (if owned) and listen; raises `OSError` if the port is taken."""
        if self._owns_client:
            self.client.start()
        self.server.start()

    def load(self, checkpoint: Path | str, create_demo: bool = False) -> p.Ready:
        """Load the checkpoint on the worker and serve it; raises `RuntimeError`."""
        self._checkpoint = (str(checkpoint), create_demo)
        ready = self.server.call(self._reload()).result()
        if self.revival is not None:
            self.revival.loaded()
        return ready

    def close(self) -> ServingState:
        """Stop serving; returns the final counts."""
        if self.revival is not None:
            self.revival.close()
        self.server.stop()
        if self._owns_client:
            self.client.shutdown(timeout=10)
        return self.scheduler.state()

    async def _reload(self) -> p.Ready:
        """Load the checkpoint `load` was given (again, after the worker died)."""
        assert self._checkpoint is not None, "load a checkpoint first"
        checkpoint, create_demo = self._checkpoint
        return await self.model.load(
            checkpoint,
            self.options.image_limit,
            create_demo,
            prompt_cache_entries=self.options.prompt_cache_entries,
            prompt_cache_bytes=self.options.prompt_cache_bytes,
        )

    def _on_unrouted(self, event: p.Message) -> None:
        if isinstance(event, p.WorkerDied):
            self.model.worker_died(event)
            if self.revival is not None:
                self.revival.died(event)
