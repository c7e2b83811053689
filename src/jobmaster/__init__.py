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
    "MissingDependencyError",
    "NotStartedError",
    "PayloadTooLargeError",
    "Priority",
    "ScheduledJob",
    "SchemaError",
    "TriggerSource",
    "UnknownHandlerError",
    "WorkerConfig",
    "WorkerRecord",
    "__version__",
    "job_handler",
]
