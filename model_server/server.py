"""Startup, serving and graceful shutdown of the whole server (contract section 1).

Order as in TFS: read every config, load every model until each has an
AVAILABLE version, then open gRPC, then REST. SIGTERM/SIGINT stop accepting,
let in-flight requests finish, then unload the models.
"""

import asyncio
import json
import logging
import os
import signal
import threading
import time

from model_server import config as config_module
from model_server import examples
from model_server.elastic_pool import ElasticThreadPool
from model_server.errors import ServingError
from model_server.event_loop import new_event_loop
from model_server.flags import AUTO_PORT
from model_server.grpc_service import start_grpc_server
from model_server.loader import make_loader
from model_server.manager import Manager, failure_text
from model_server.memory import steady_thresholds
from model_server.metrics import Metrics
from model_server.service import Service

log = logging.getLogger("model_server")

GRACE_SECONDS = 30


class StartupError(Exception):
    """A configuration or startup failure: one line on stderr, non-zero exit."""


class Server(object):
    def __init__(self, options, settings):
        """settings: config.load_settings(options), checked before TensorFlow is imported."""
        self.options = options
        self.model_server_config = settings.model_server_config
        self.batching = settings.batching
        self.monitoring_path = settings.monitoring_path
        self.host = "0.0.0.0" if options.bind_all_interfaces else "127.0.0.1"
        self.metrics = Metrics()
        steady_thresholds()
        examples.method_name_check = options.enable_signature_method_name_check
        self.pool = ElasticThreadPool(max(1, options.rest_api_num_threads), thread_name_prefix="run")
        self.manager = Manager(make_loader(options, self.batching, self.pool, self.metrics), options,
                               on_state=self.metrics.state)
        self.service = Service(self.manager, self.metrics)
        self.shutdown = threading.Event()
        self._grpc = None
        self.grpc_port = None  # the ports actually bound (differ from the flags with `auto`)
        self.rest_port = None
        self._port_file_written = False

    # ------------------------------------------------------------ startup

    def load_models(self):
        model_configs = list(self.model_server_config.model_config_list.config)
        self.manager.apply_config(model_configs)
        self.manager.start_polling(self.options.file_system_poll_wait_seconds)  # new dirs end the wait
        failures = self.manager.wait_until_available([c.name for c in model_configs], cancel=self.shutdown)
        if failures is None:  # SIGTERM while loading
            return False
        if failures:
            raise StartupError(failure_text(failures))
        try:
            self.manager.set_labels(model_configs)
        except ServingError as exc:
            raise StartupError(exc.message) from None
        if self.options.model_config_file and self.options.model_config_file_poll_wait_seconds > 0:
            threading.Thread(target=self._poll_config_file, name="config-poll", daemon=True).start()
        return True

    def _poll_config_file(self):
        """Re-reads --model_config_file every period; a slow load never stops the polling.

        Each read waits for its new models only until the next read is due; a
        reload still loading then is finished (its labels set) on a later
        round, unless a newer edit of the file replaced it.
        """
        period = self.options.model_config_file_poll_wait_seconds
        current, pending = self.model_server_config, None
        while not self.shutdown.wait(period):
            try:
                config = config_module.load_model_server_config(self.options)
            except config_module.ConfigError as exc:
                log.error("Keeping the current models: %s", exc)
                config = current
            if config != current:
                try:
                    pending, current = self.manager.start_reload(config), config
                except ServingError as exc:  # invalid: nothing applied, the running models stay
                    log.error("Keeping the current models: %s", exc)
            try:
                if pending is not None:
                    self.manager.finish_reload(pending, deadline=time.monotonic() + period, cancel=self.shutdown)
                    pending = None
                    log.info("Reloaded model config from %s", self.options.model_config_file)
            except ServingError as exc:
                if exc.code == "DEADLINE_EXCEEDED":
                    log.info("%s; its version labels follow once they are loaded", exc.message)
                    continue
                log.error("Model config reload from %s failed: %s", self.options.model_config_file, exc)
                pending = None  # applied; a model without a version loads once one appears

    def start_grpc(self):
        options = self.options
        if not options.port and not options.grpc_socket_path:
            return
        try:
            self._grpc, self.grpc_port = start_grpc_server(
                self.service, self.host, options.port, options.grpc_socket_path,
                max_workers=max(64, 4 * (os.cpu_count() or 1)),
                max_receive_bytes=options.grpc_max_receive_message_bytes)
        except OSError as exc:
            raise StartupError(str(exc)) from None
        if self.grpc_port:
            log.info("Running gRPC ModelServer at %s:%d ...", self.host, self.grpc_port)

    # ------------------------------------------------------------ run / stop

    def run(self):
        """Serve until SIGTERM/SIGINT. Returns the process exit code."""
        loop = new_event_loop()
        asyncio.set_event_loop(loop)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal)
        stopper = loop.run_in_executor(None, self.shutdown.wait)
        try:
            if loop.run_until_complete(loop.run_in_executor(None, self.load_models)):
                self.start_grpc()
                loop.run_until_complete(self._serve(stopper))
        finally:
            self._remove_port_file()
            self.shutdown.set()  # also releases `stopper` on a startup error
            if self._grpc is not None:
                self._grpc.stop(0)
            self._stop_all()
            loop.close()
        return 0

    def _on_signal(self):
        log.info("Received shutdown signal: finishing in-flight requests")
        self.shutdown.set()

    async def _serve(self, stopper):
        options = self.options
        rest = None
        if options.rest_api_port not in (0, AUTO_PORT) and options.rest_api_port == options.port:
            log.error("--rest_api_port cannot be the same as --port; the HTTP/REST API is not started")
        elif options.rest_api_port:
            rest = self._make_rest_server()
            rest_task = asyncio.ensure_future(rest.serve())
            while not rest.started and not rest_task.done():
                await asyncio.sleep(0.01)
            if rest_task.done():
                try:
                    rest_task.result()
                except SystemExit:  # uvicorn exits when it cannot bind
                    pass
                raise StartupError("cannot bind HTTP/REST API to %s:%d" % (self.host, options.rest_api_port))
            self.rest_port = rest.servers[0].sockets[0].getsockname()[1]
            log.info("Exporting HTTP/REST API at:localhost:%d ...", self.rest_port)
        self._write_port_file()
        await stopper
        grace = None
        if self._grpc is not None:
            grace = self._grpc.stop(GRACE_SECONDS)
        if rest is not None:
            rest.should_exit = True
            await rest_task
        if grace is not None:
            await asyncio.get_event_loop().run_in_executor(None, grace.wait)

    def _make_rest_server(self):
        import uvicorn

        from model_server.rest_app import RestApi, http_protocol

        api = RestApi(self.service, self.pool, self.options, self.monitoring_path)
        port = 0 if self.options.rest_api_port == AUTO_PORT else self.options.rest_api_port
        config = uvicorn.Config(api.app, host=self.host, port=port, log_level="warning",
                                access_log=False, lifespan="off", server_header=False, date_header=False,
                                interface="asgi3", http=http_protocol(self.options.rest_api_read_timeout_seconds,
                                                                     self.options.rest_api_max_connections))

        class _Uvicorn(uvicorn.Server):
            def install_signal_handlers(self):  # the Server owns SIGTERM/SIGINT
                pass

        return _Uvicorn(config)

    def _write_port_file(self):
        """--port_file: the bound ports as JSON, written once everything serves (atomic replace)."""
        path = self.options.port_file
        if not path:
            return
        ports = {"grpc_port": self.grpc_port, "rest_api_port": self.rest_port, "pid": os.getpid()}
        partial = "%s.%d.tmp" % (path, os.getpid())
        try:
            with open(partial, "w") as f:
                json.dump(ports, f)
            os.replace(partial, path)
        except OSError as exc:
            raise StartupError("cannot write --port_file=%s: %s" % (path, exc.strerror or exc)) from None
        self._port_file_written = True
        log.info("Wrote bound ports to %s", path)

    def _remove_port_file(self):
        """A port file outlives no server: a reader must never connect to a port nobody owns."""
        if self._port_file_written:
            try:
                os.remove(self.options.port_file)
            except OSError:
                pass

    def _stop_all(self):
        self.manager.stop()
        self.pool.shutdown(wait=True)
        log.info("Model server stopped")
