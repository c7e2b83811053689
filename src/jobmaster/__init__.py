"""JobMaster for Python: distributed job orchestration — master, agents and leased workers.

Public names only; everything else is internal. See README.md and docs/.
"""

from .app import JobMaster
from .config import ClusterConfig, WorkerConfig
from .errors import (
    BackendUnavailableError,
    ConfigurationError,
    JobMasterError,
    MissingDependencyError,
    NotStartedError,
    PayloadTooLargeError,
    SchemaError,
    UnknownHandlerError,
)
from .handlers import JobContext, JobHandler, job_handler
from .messages import MessageData, Metadata
from .model import (
    Attempt,
    AttemptOutcome,
    Backoff,
    JobInfo,
    JobPage,
    JobStatus,
    Priority,
    TriggerSource,
    WorkerRecord,
)
from .recurrence import Cron
from .recurring.records import Misfire, ScheduleInfo, ScheduleKind, ScheduleStatus
from .recurring.static import StaticProfile, StaticSchedules
from .runtime.execution import JobCancelledError
from .scheduler import ScheduledJob

__version__ = "0.1.0"

__all__ = [
    "Attempt",
    "AttemptOutcome",
    "BackendUnavailableError",
    "Backoff",
    "ClusterConfig",
    "ConfigurationError",
    "Cron",
    "JobCancelledError",
    "JobContext",
    "JobHandler",
    "JobInfo",
    "JobMaster",
    "JobMasterError",
    "JobPage",
    "JobStatus",
    "MessageData",
    "Metadata",
    "Misfire",
    "MissingDependencyError",
    "NotStartedError",
    "PayloadTooLargeError",
    "Priority",
    "ScheduleInfo",
    "ScheduleKind",
    "ScheduleStatus",
    "ScheduledJob",
    "SchemaError",
    "StaticProfile",
    "StaticSchedules",
    "TriggerSource",
    "UnknownHandlerError",
    "WorkerConfig",
    "WorkerRecord",
    "__version__",
    "job_handler",
]
