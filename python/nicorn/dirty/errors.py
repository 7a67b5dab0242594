"""The dirty error classes, with Gunicorn 26's names, messages and details:
an error crosses the wire as {"error_type", "message", "details"} and the
client raises the class of that name (from_dict)."""


class DirtyError(Exception):
    def __init__(self, message, details=None):
        self.message = message
        self.details = details or {}
        super().__init__(message)

    def __str__(self):
        return "%s: %s" % (self.message, self.details) if self.details else self.message

    def to_dict(self):
        return {"error_type": type(self).__name__, "message": self.message, "details": self.details}

    @classmethod
    def from_dict(cls, data):
        """The error the dict names (DirtyError for a name it does not know), with its message and details."""
        klass = _CLASSES.get(data.get("error_type"), DirtyError)
        error = Exception.__new__(klass)
        error.message = data.get("message", "Unknown error")
        error.details = data.get("details") or {}
        Exception.__init__(error, error.message)
        for attr in klass._detail_attrs:
            setattr(error, attr, error.details.get(attr))
        if klass is DirtyWorkerError:
            error.worker_id = error.details.get("worker_id")
        return error

    _detail_attrs = ()


class DirtyTimeoutError(DirtyError):
    _detail_attrs = ("timeout",)

    def __init__(self, message="Operation timed out", timeout=None):
        super().__init__(message, {"timeout": timeout} if timeout else {})
        self.timeout = timeout


class DirtyConnectionError(DirtyError):
    _detail_attrs = ("socket_path",)

    def __init__(self, message="Connection failed", socket_path=None):
        super().__init__(message, {"socket_path": socket_path} if socket_path else {})
        self.socket_path = socket_path


class DirtyWorkerError(DirtyError):
    _detail_attrs = ("traceback",)

    def __init__(self, message, worker_id=None, traceback=None):
        details = {}
        if worker_id is not None:
            details["worker_id"] = worker_id
        if traceback:
            details["traceback"] = traceback
        super().__init__(message, details)
        self.worker_id = worker_id
        self.traceback = traceback


class DirtyAppError(DirtyError):
    _detail_attrs = ("app_path", "action", "traceback")

    def __init__(self, message, app_path=None, action=None, traceback=None):
        details = {}
        if app_path:
            details["app_path"] = app_path
        if action:
            details["action"] = action
        if traceback:
            details["traceback"] = traceback
        super().__init__(message, details)
        self.app_path = app_path
        self.action = action
        self.traceback = traceback


class DirtyAppNotFoundError(DirtyAppError):
    def __init__(self, app_path):
        super().__init__("Dirty app not found: %s" % app_path, app_path=app_path)


class DirtyNoWorkersAvailableError(DirtyError):
    _detail_attrs = ("app_path",)

    def __init__(self, app_path, message=None):
        super().__init__(message or "No workers available for app: %s" % app_path, {"app_path": app_path})
        self.app_path = app_path


class DirtyProtocolError(DirtyError):
    def __init__(self, message="Protocol error", raw_data=None):
        details = {}
        if raw_data is not None:
            if isinstance(raw_data, bytes):
                raw_data = raw_data[:100].hex()
            details["raw_data"] = str(raw_data)[:200]
        super().__init__(message, details)


_CLASSES = {
    c.__name__: c
    for c in (
        DirtyError,
        DirtyTimeoutError,
        DirtyConnectionError,
        DirtyWorkerError,
        DirtyAppError,
        DirtyAppNotFoundError,
        DirtyNoWorkersAvailableError,
        DirtyProtocolError,
    )
}
