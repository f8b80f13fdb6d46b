"""Runs whose process died: find them, mark them failed and free what they held.

A run killed abruptly (SIGKILL, the out-of-memory killer, a power cut) never reports its
end: Dagster keeps it "STARTED" and keeps the pool slots it had claimed, so every later
run waiting for the ``warehouse`` pool would wait for ever. Each run records the process
that executes it (its pid and host as run tags for ``opioids`` runs; Dagster's own
"Started process for run (pid: N)" event for runs launched from the UI), so a run whose
process is gone can be told apart from a slow one:

* :func:`recover_dead_runs` (called when the instance is prepared and while waiting for a
  pool) marks such runs failed and frees their slots, and frees slots still held by runs
  that have ended;
* :class:`LivenessRunLauncher` lets the daemon's run monitoring ask the same question of
  runs launched from the UI, schedules and sensors (``run_monitoring`` in dagster.yaml);
* :func:`wait_for_pool` and :func:`interruptible_pool_waits` keep a run of this process
  that waits for the pool stoppable with Ctrl-C.

A process id can be reused after its process dies; a process that started after the run
did cannot be the run's worker, so it counts as gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus, RunRecord, RunsFilter
from dagster._utils.interrupts import check_captured_interrupt

PID_TAG = "opioids/pid"
HOST_TAG = "opioids/host"
# Statuses in which a run's process should be alive. NOT_STARTED counts only for runs
# carrying a pid tag: the process that created them is the one that would start them.
LIVE_STATUSES = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
# /proc's start times are in clock ticks after a boot time given in whole seconds.
START_TIME_SLACK_SECONDS = 2.0


def worker_tags() -> dict[str, str]:
    """Tags recording that this process executes the run."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None where /proc is absent."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return []
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def process_alive(pid: int, not_started_after: float | None = None) -> bool:
    """Whether process ``pid`` exists, is not a zombie and (when a time is given) started
    no later than ``not_started_after`` (seconds since the epoch)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    fields = _proc_stat(pid)
    if fields is None:  # no /proc: the signal check is all there is
        return True
    if not fields:
        return False
    if fields[0] in ("Z", "X"):
        return False
    if not_started_after is not None:
        boot = _boot_time()
        if boot is not None:
            started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
            if started > not_started_after + START_TIME_SLACK_SECONDS:
                return False
    return True


def run_worker_pid(instance: DagsterInstance, run: DagsterRun) -> int | None:
    """The pid of the process executing ``run``: its tag, else Dagster's engine event."""
    if PID_TAG in run.tags:
        try:
            return int(run.tags[PID_TAG])
        except ValueError:
            return None
    engine_events = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=20
    )
    for record in engine_events.records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        metadata = getattr(event.event_specific_data, "metadata", None) or {}
        pid = metadata.get("pid")
        if pid is not None:
            try:
                return int(pid.value)
            except (TypeError, ValueError):
                return None
    return None


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    job_name: str
    pid: int


def _is_dead(instance: DagsterInstance, record: RunRecord) -> int | None:
    """The dead worker's pid if ``record``'s process is gone, else None."""
    run = record.dagster_run
    if run.status == DagsterRunStatus.NOT_STARTED and PID_TAG not in run.tags:
        return None
    if run.tags.get(HOST_TAG, socket.gethostname()) != socket.gethostname():
        return None  # another machine's process: not ours to judge
    pid = run_worker_pid(instance, run)
    if pid is None:
        return None
    since = record.start_time or record.create_timestamp.timestamp()
    return None if process_alive(pid, since) else pid


def recover_dead_runs(instance: DagsterInstance) -> list[DeadRun]:
    """Mark runs whose process is gone failed and free every slot held by an ended run."""
    dead: list[DeadRun] = []
    for record in instance.get_run_records(RunsFilter(statuses=LIVE_STATUSES)):
        pid = _is_dead(instance, record)
        if pid is None:
            continue
        run = record.dagster_run
        instance.report_run_failed(
            run,
            f"The process executing this run (pid {pid} on {socket.gethostname()}) is gone "
            "(killed or crashed); marked failed so its pool slots are freed.",
        )
        dead.append(DeadRun(run.run_id, run.job_name, pid))
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return dead
    holders = set(storage.get_concurrency_run_ids())
    for key in storage.get_concurrency_keys():
        holders.update(slot.run_id for slot in storage.get_concurrency_info(key).claimed_slots)
    for run_id in holders:
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
    return dead


def _format_seconds(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def wait_for_pool(
    instance: DagsterInstance,
    pool: str,
    *,
    echo: Callable[[str], None],
    poll_seconds: float = 2.0,
    report_every_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Wait (interruptibly: Ctrl-C raises ``KeyboardInterrupt``) until ``pool`` has a free
    slot, recovering dead runs on every poll and saying who holds it now and then.

    Returns the seconds waited. Dagster's own wait for a slot holds Ctrl-C back (see
    :func:`interruptible_pool_waits`) and says nothing, so runs wait here first.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return 0.0
    start = clock()
    last_report: float | None = None
    while True:
        recover_dead_runs(instance)
        info = storage.get_concurrency_info(pool)
        if info.limit is None or len(info.claimed_slots) < max(info.limit, 1):
            return clock() - start
        now = clock()
        if last_report is None or now - last_report >= report_every_seconds:
            held = ", ".join(
                f"run {slot.run_id[:8]} step {slot.step_key}" for slot in info.claimed_slots
            )
            echo(
                f"  waiting for the {pool} ({held}) for {_format_seconds(now - start)}; "
                "Ctrl-C stops waiting"
            )
            last_report = now
        sleep(poll_seconds)


@contextlib.contextmanager
def interruptible_pool_waits(
    *, grace_seconds: float = 1.0, poll_seconds: float = 0.2
) -> Iterator[Callable[[], bool]]:
    """Let Ctrl-C stop an in-process run while a step of it waits inside Dagster for a
    pool slot (a slot another run took after :func:`wait_for_pool` returned, or between
    two of this run's steps).

    While no step computes, Dagster's in-process executor holds a Ctrl-C back and acts on
    it when the next step starts, which for a step waiting on a slot is whenever the
    other run lets go. A watcher thread notices an interrupt held back for
    ``grace_seconds`` and raises ``KeyboardInterrupt`` in the main thread (by SIGUSR1,
    which also cuts its sleep short); Dagster then records the run as interrupted, failed,
    and drops its place in the queue for the slot. Yields a function saying whether it
    did. Outside the main thread it does nothing (signals go to the main thread only).
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    fired, stop = threading.Event(), threading.Event()

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    def watch(main_thread: int) -> None:
        held_since: float | None = None
        while not stop.wait(poll_seconds) and not fired.is_set():
            if not check_captured_interrupt():
                held_since = None
                continue
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since >= grace_seconds:
                fired.set()
                signal.pthread_kill(main_thread, signal.SIGUSR1)

    previous = signal.signal(signal.SIGUSR1, interrupt)
    watcher = threading.Thread(
        target=watch, args=(threading.get_ident(),), name="pool-wait-interrupts", daemon=True
    )
    watcher.start()
    try:
        yield fired.is_set
    finally:
        stop.set()
        watcher.join()
        signal.signal(signal.SIGUSR1, previous)


class LivenessRunLauncher(DefaultRunLauncher):
    """The default launcher, able to tell run monitoring whether a run's process lives."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        record = self._instance.get_run_record_by_id(run.run_id)
        if record is not None and _is_dead(self._instance, record) is not None:
            return CheckRunHealthResult(WorkerStatus.FAILED, "the run's process is gone")
        # Alive, or nothing yet says which process runs it: never fail a run on a guess.
        return CheckRunHealthResult(WorkerStatus.RUNNING)
