"""Model and version lifecycle: polling, loading with retries, labels, lookups.

States follow TFS (START, LOADING, AVAILABLE, UNLOADING, END). A new version
loads (and warms up) while the old one serves; a version the policy no longer
wants is unloaded only once an aspired version is AVAILABLE or its directory is
gone, so a broken new version never takes the serving one down. Unloading
waits for the requests holding the version, so a switch drops nothing.
"""

import errno
import logging
import threading
import time
from collections import namedtuple

from model_server import versions as version_dirs
from model_server.elastic_pool import ElasticThreadPool
from model_server.config import ConfigError, validate_model_server_config
from model_server.errors import ServingError, load_error, not_found
from model_server.memory import release_freed_memory

log = logging.getLogger(__name__)

START, LOADING, AVAILABLE, UNLOADING, END = "START", "LOADING", "AVAILABLE", "UNLOADING", "END"

# A reload whose config is applied: its models, the ones it added, and its place in the reload order.
PendingReload = namedtuple("PendingReload", "model_configs new_models generation")


class Version(object):
    def __init__(self, number, path):
        self.number = number
        self.path = path
        self.state = START
        self.error = None  # ServingError of a failed load
        self.runner = None
        self.inflight = 0
        self.retry_allowed = False


class Model(object):
    def __init__(self, config):
        self.config = config
        self.versions = {}
        self.labels = {}
        self.removed = False
        self.present = {}
        self.aspired = set()
        self.no_version_reason = None  # why the last poll found nothing to load, for the status APIs

    @property
    def name(self):
        return self.config.name

    def available(self):
        return sorted(v.number for v in self.versions.values() if v.state == AVAILABLE)


class Handle(object):
    """A version held for one request; unloading waits until it is released."""

    def __init__(self, manager, model_name, version):
        self._manager = manager
        self.model_name = model_name
        self.version = version
        self.runner = version.runner
        self.servable = version.runner.servable

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def release(self):
        if self.version is not None:
            self._manager._release(self.version)
            self.version = None


class Manager(object):
    """Owns every model's versions. `load_version(model_name, path)` returns a Runner."""

    def __init__(self, load_version, options, on_state=None):
        self._load_version = load_version
        self._options = options
        self._on_state = on_state or (lambda model, version, state: None)
        self._cond = threading.Condition(threading.RLock())
        self._models = {}
        self._loads = ElasticThreadPool(2, thread_name_prefix="load")
        self._stopping = threading.Event()
        self._poller = None
        self._unloads = []  # unload threads, joined by stop()
        self._config_lock = threading.Lock()
        self._config_generation = 0  # bumped by every reload; labels of an older reload are not set

    # ------------------------------------------------------------ configuration

    def apply_config(self, model_configs):
        """Realise exactly this list of ModelConfigs (new, changed, removed models)."""
        with self._cond:
            wanted = {config.name: config for config in model_configs}
            for name, config in wanted.items():
                model = self._models.get(name)
                if model is None:
                    self._models[name] = Model(config)
                else:
                    model.config = config
                    model.removed = False
            for name, model in self._models.items():
                if name not in wanted:
                    model.removed = True
                    model.labels = {}
        self.poll()

    def reload(self, config, deadline=None):
        """gRPC HandleReloadConfigRequest: apply the config, wait for its new models, then labels.

        Only applying the config is serialized: the wait for new models runs
        outside the lock, so a slow or hopeless reload never holds up another.
        It ends when the new models are loaded or failed (UNKNOWN, the config
        stays applied, as in TFS), or at `deadline` (time.monotonic();
        DEADLINE_EXCEEDED). A config with a new model whose base path has no
        version to load is refused at once with NOT_FOUND and nothing applied.
        """
        self.finish_reload(self.start_reload(config), deadline=deadline)

    def start_reload(self, config):
        """Applies a ModelServerConfig; returns what `finish_reload` waits for.

        INVALID_ARGUMENT for a config that does not validate and NOT_FOUND for
        one with a new model that has no version to load: nothing is applied.
        TFS applies such a config and holds the call until a version appears (or
        refuses it with --fail_if_no_model_versions_found, its FailIfZeroVersions
        check, after switching its own config record over); refusing it whole
        means an error always leaves the served models as they were.
        """
        try:
            model_configs = validate_model_server_config(config)
        except ConfigError as exc:
            raise ServingError("INVALID_ARGUMENT", str(exc)) from None
        with self._config_lock:
            with self._cond:
                new = [c.name for c in model_configs
                       if c.name not in self._models or self._models[c.name].removed]
            hopeless = {c.name: _nothing_to_load(c) for c in model_configs if c.name in new}
            hopeless = {name: reason for name, reason in hopeless.items() if reason}
            if hopeless:
                raise not_found("%d new model(s) have no version to load: {%s}; the config was not applied" % (
                    len(hopeless), ", ".join("%s: %s" % item for item in sorted(hopeless.items()))))
            self.apply_config(model_configs)
            self._config_generation += 1
            return PendingReload(model_configs, new, self._config_generation)

    def finish_reload(self, pending, deadline=None, cancel=None):
        """Waits for a started reload's new models, then sets its labels.

        Raises NOT_FOUND for new models whose versions vanished since the config
        was applied, DEADLINE_EXCEEDED (`deadline` passed or `cancel` set; the
        models go on loading and a later call with the same `pending` can
        finish it), UNKNOWN for failed loads (TFS's text; the config stays).
        """
        with self._cond:
            hopeless = {name: self._models[name].no_version_reason for name in pending.new_models
                        if self._models[name].no_version_reason and not self._models[name].versions}
        if hopeless:
            raise not_found("%d new model(s) have no version to load: {%s}; the config is applied and a "
                            "version appearing there is loaded" % (
                                len(hopeless), ", ".join("%s: %s" % item for item in sorted(hopeless.items()))))
        failures = self.wait_until_available(pending.new_models, deadline=deadline, cancel=cancel)
        if failures is None:
            raise ServingError("DEADLINE_EXCEEDED", "Config applied, but new model(s) still loading at the "
                               "deadline: %s" % ", ".join(self._loading_text(name) for name in pending.new_models))
        if failures:
            raise ServingError("UNKNOWN", failure_text(failures))
        with self._config_lock:
            if pending.generation == self._config_generation:  # else a newer config's labels stand
                self.set_labels(pending.model_configs)

    def _loading_text(self, name):
        with self._cond:
            model = self._models[name]
            states = ", ".join("version %d %s" % (n, e.state) for n, e in sorted(model.versions.items()))
            return "%s (%s)" % (name, states or model.no_version_reason or "no version yet")

    def set_labels(self, model_configs):
        """Version labels of the config; each must name an AVAILABLE version (contract 3)."""
        allow_new = self._options.allow_version_labels_for_unavailable_models
        with self._cond:
            updates = {}
            for config in model_configs:
                model = self._models[config.name]
                labels = dict(config.version_labels)
                for label, number in sorted(labels.items()):
                    entry = model.versions.get(number)
                    if entry is not None and entry.state == AVAILABLE:
                        continue
                    if allow_new and label not in model.labels:
                        continue
                    raise ServingError("FAILED_PRECONDITION",
                                       "Request to assign label to version %d of model %s, which is not "
                                       "currently available for inference" % (number, config.name))
                updates[config.name] = labels
            for name, labels in updates.items():
                self._models[name].labels = labels

    # ------------------------------------------------------------ polling

    def start_polling(self, period_seconds):
        if period_seconds <= 0:
            return
        self._poller = threading.Thread(target=self._poll_loop, args=(period_seconds,),
                                        name="version-poll", daemon=True)
        self._poller.start()

    def _poll_loop(self, period):
        while not self._stopping.wait(period):
            try:
                self.poll()
            except Exception:  # a poll must never kill the poller
                log.exception("version poll failed")

    def poll(self):
        """Scan every base path once and start/stop versions accordingly."""
        with self._cond:
            models = list(self._models.values())
        for model in models:
            if model.removed:
                present = {}
            else:
                try:
                    present = version_dirs.scan(model.config.base_path)
                except OSError as exc:
                    log.error("File system poll of model %s abandoned: cannot read base path %s: %s",
                              model.name, model.config.base_path, exc.strerror or exc)
                    with self._cond:
                        model.no_version_reason = _unreadable_reason(model.config.base_path, exc)
                    continue
            if not present and not model.removed:  # TFS logs this on every poll too
                log.warning("No versions of servable %s found under base path %s", model.name, model.config.base_path)
            with self._cond:
                model.present = present
                model.aspired = version_dirs.aspired(model.config.model_version_policy, present)
                model.no_version_reason = _empty_reason(model.config.base_path, present, model.aspired)
                self._reconcile(model)

    def _reconcile(self, model):
        """Start loads of aspired versions; unload unwanted ones when that keeps availability."""
        if self._stopping.is_set():
            return
        for number in sorted(model.aspired, reverse=True):
            entry = model.versions.get(number)
            if entry is None or (entry.state == END and (entry.error is None or entry.retry_allowed)):
                entry = Version(number, model.present[number])
                model.versions[number] = entry
                self._set_state(model, entry, START)
                self._loads.submit(self._load, model, entry)
        for entry in model.versions.values():
            if entry.number not in model.aspired and entry.state == END and not entry.retry_allowed:
                entry.retry_allowed = True
                if entry.error:
                    log.info("Failed servable version {name: %s version: %d} is gone; it loads again if it "
                             "comes back", model.name, entry.number)
        aspired_available = any(model.versions[n].state == AVAILABLE for n in model.aspired
                                if n in model.versions)
        for entry in list(model.versions.values()):
            if entry.state != AVAILABLE or entry.number in model.aspired:
                continue
            if model.removed or entry.number not in model.present or aspired_available:
                self._set_state(model, entry, UNLOADING)
                thread = threading.Thread(target=self._unload, args=(model, entry),
                                          name="unload-%s-%d" % (model.name, entry.number), daemon=True)
                self._unloads = [t for t in self._unloads if t.is_alive()] + [thread]
                thread.start()

    def _set_state(self, model, entry, state):
        entry.state = state
        self._on_state(model.name, entry.number, state)
        self._cond.notify_all()

    # ------------------------------------------------------------ load / unload

    def _load(self, model, entry):
        attempts = 1 + self._options.max_num_load_retries
        interval = self._options.load_retry_interval_micros / 1e6
        with self._cond:
            self._set_state(model, entry, LOADING)
        error = None
        description = "Loading servable: {name: %s version: %d}" % (model.name, entry.number)
        log.info("Loading servable version {name: %s version: %d}", model.name, entry.number)
        for attempt in range(attempts):
            if self._stopping.is_set():
                error = ServingError("CANCELLED", "Server is shutting down")
                break
            if attempt:
                log.info("Retrying of %s retry: %d", description, attempt)
            try:
                runner = self._load_version(model.name, entry.path)
            except Exception as exc:
                # TFS's Retry() line, with the attempt; the status stays LOADING (error OK) until
                # the last attempt fails, as TFS's LoaderHarness reports it.
                error = load_error(exc)
                log.error("%s failed: %s: %s (attempt %d of %d)", description, error.code, error.message,
                          attempt + 1, attempts, exc_info=exc if error.code == "INTERNAL" and not attempt else None)
                # Wanted before the wait and still wanted after it (a newer version may have
                # replaced this one meanwhile): only then is it worth another attempt.
                if (attempt + 1 < attempts and self._still_wanted(model, entry)
                        and not self._stopping.wait(interval) and self._still_wanted(model, entry)):
                    continue
                if attempt + 1 == attempts and attempts > 1:
                    log.info("Retrying of %s exhausted max_num_retries: %d", description, attempts - 1)
                break
            with self._cond:
                entry.runner = runner
                entry.error = None
                self._set_state(model, entry, AVAILABLE)
                log.info("Successfully loaded servable version {name: %s version: %d}", model.name, entry.number)
                self._reconcile(model)
            if self._stopping.is_set():
                self._unload(model, entry)
            return
        with self._cond:
            entry.error = error
            self._set_state(model, entry, END)
            self._reconcile(model)

    def _still_wanted(self, model, entry):
        with self._cond:
            return entry.number in model.aspired and not model.removed

    def _unload(self, model, entry):
        with self._cond:
            if entry.state not in (AVAILABLE, UNLOADING):
                return
            self._set_state(model, entry, UNLOADING)
            while entry.inflight:
                self._cond.wait()
            runner, entry.runner = entry.runner, None
        try:
            runner.close()
        except Exception:
            log.exception("closing %s version %d failed", model.name, entry.number)
        del runner
        release_freed_memory()
        with self._cond:
            self._set_state(model, entry, END)
        log.info("Unloaded servable version {name: %s version: %d}", model.name, entry.number)

    # ------------------------------------------------------------ lookups

    def acquire(self, name, version=None, label=None):
        """Hold the version a request asks for (latest AVAILABLE by default)."""
        with self._cond:
            model = self._models.get(name)
            if label is not None:
                if model is None or model.removed or label not in model.labels:
                    raise ServingError("INVALID_ARGUMENT", "Unrecognized servable version label: %s" % label)
                version = model.labels[label]
            if version is None:
                available = model.available() if model is not None and not model.removed else []
                if not available:
                    raise not_found("Servable not found for request: Latest(%s)" % name)
                version = available[-1]
            entry = model.versions.get(version) if model is not None and not model.removed else None
            if entry is None or entry.state != AVAILABLE:
                raise not_found("Servable not found for request: Specific(%s, %d)" % (name, version))
            entry.inflight += 1
            return Handle(self, name, entry)

    def _release(self, entry):
        with self._cond:
            entry.inflight -= 1
            if not entry.inflight:
                self._cond.notify_all()

    def status(self, name, version=None, label=None):
        """[(version, state, ServingError|None)] highest first, as the status APIs report."""
        with self._cond:
            model = self._models.get(name)
            if label is not None:
                if model is None or label not in model.labels:
                    raise ServingError("INVALID_ARGUMENT", "Unrecognized servable version label: %s" % label)
                version = model.labels[label]
            if model is None or not model.versions:
                reason = model.no_version_reason if model is not None else None
                raise not_found("Could not find any versions of model %s%s" % (name, ": " + reason if reason else ""))
            if version is not None:
                entry = model.versions.get(version)
                if entry is None:
                    raise not_found("Could not find version %d of model %s" % (version, name))
                return [(entry.number, entry.state, entry.error)]
            return [(e.number, e.state, e.error) for e in
                    sorted(model.versions.values(), key=lambda e: e.number, reverse=True)]

    # ------------------------------------------------------------ startup / shutdown

    def wait_until_available(self, names, cancel=None, deadline=None):
        """Block until every aspired version of each model settled; {name: error} of failed models.

        A model succeeds with at least one AVAILABLE version and fails when every version
        it aspires ended with an error; a model with no version directory keeps the wait
        going (as TFS does). Waiting for all aspired versions lets labels name any of them.
        Returns None if `cancel` (a threading.Event) is set, `deadline` (time.monotonic())
        passes or the manager stops first.
        """
        with self._cond:
            while True:
                failed, waiting = {}, False
                for name in names:
                    model = self._models[name]
                    entries = [model.versions.get(n) for n in model.aspired]
                    settled = entries and all(e is not None and (e.state == AVAILABLE or (e.state == END and e.error))
                                              for e in entries)
                    if not settled:
                        waiting = True
                    elif not model.available():
                        failed[name] = "; ".join("version %d: %s" % (e.number, e.error) for e in entries)
                if not waiting:
                    return failed
                if self._stopping.is_set() or (cancel is not None and cancel.is_set()):
                    return None
                timeout = 0.2 if cancel is not None else None
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    timeout = left if timeout is None else min(timeout, left)
                self._cond.wait(timeout)

    def stop(self):
        """Stop polling and loading, then unload every version (waiting for its requests)."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        self._loads.shutdown(wait=True)
        with self._cond:
            entries = [(model, entry) for model in self._models.values()
                       for entry in model.versions.values() if entry.state == AVAILABLE]
        for model, entry in entries:
            self._unload(model, entry)
        with self._cond:
            unloads = list(self._unloads)
        for thread in unloads:
            thread.join()


def failure_text(failures):
    return "%d model(s) did not become available: {%s}" % (
        len(failures), ", ".join("%s: %s" % item for item in sorted(failures.items())))


def _nothing_to_load(config):
    """Why a model config's base path has no version its policy wants, or None."""
    try:
        present = version_dirs.scan(config.base_path)
    except OSError as exc:
        return _unreadable_reason(config.base_path, exc)
    return _empty_reason(config.base_path, present, version_dirs.aspired(config.model_version_policy, present))


def _unreadable_reason(base_path, exc):
    if exc.errno == errno.ENOENT:
        return "base path %s does not exist" % base_path
    if exc.errno == errno.ENOTDIR:
        return "base path %s is not a directory" % base_path
    return "cannot read base path %s: %s" % (base_path, exc.strerror or exc)


def _empty_reason(base_path, present, aspired):
    if not present:
        return "base path %s has no version directories (integer names)" % base_path
    if not aspired:
        return "no version under %s matches the version policy (present: %s)" % (
            base_path, ", ".join(str(n) for n in sorted(present)))
    return None
