"""The app's `ssl` module: CPython 3.14's public API on the host's OpenSSL.

Loaded as `ssl` (nicorn/host/tls.py) in place of Pyodide's stub. Contexts
and connections are OpenSSL's, held by the host layer
(src/runtime/host/tls.ts, reached through `_nicorn_host`): the SSL reads and
writes the host socket behind an SSLSocket's descriptor, waiting for it
(interruptibly) for at most the socket's timeout. Errors are raised with the
classes, arguments and texts CPython's _ssl gives them.

SSLObject and MemoryBIO (asyncio's TLS) are OpenSSL's memory BIOs. Not
provided: server-side SNI and ALPN callbacks, sessions, channel bindings,
post-handshake authentication, get_ciphers, certificate chains; each raises
NotImplementedError (ValueError for channel bindings, as for a type CPython lacks).
"""

import base64
import ctypes
import errno as _errno
import json as _json
import os
import sys
import time as _time
import warnings as _warnings
from collections import namedtuple
from enum import Enum as _Enum, IntEnum as _IntEnum, IntFlag as _IntFlag

import _nicorn_host as _host
from socket import socket, SOCK_STREAM, create_connection, _GLOBAL_DEFAULT_TIMEOUT
import socket as _socket

# ----------------------------------------------------------------- constants

_INFO = _json.loads(_host.tls_info())

OPENSSL_VERSION = _INFO["version"]
OPENSSL_VERSION_NUMBER = _INFO["version_number"]


def _version_info(n):
    return (n >> 28, (n >> 20) & 0xFF, (n >> 12) & 0xFF, (n >> 4) & 0xFF, n & 0xF)


OPENSSL_VERSION_INFO = _version_info(OPENSSL_VERSION_NUMBER)
_OPENSSL_API_VERSION = OPENSSL_VERSION_INFO
_DEFAULT_CIPHERS = _INFO["default_ciphers"]

PROTOCOL_TLS = 2
PROTOCOL_TLS_CLIENT = 16
PROTOCOL_TLS_SERVER = 17
PROTOCOL_TLSv1 = 3
PROTOCOL_TLSv1_1 = 4
PROTOCOL_TLSv1_2 = 5

CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2

SSL_ERROR_SSL = 1
SSL_ERROR_WANT_READ = 2
SSL_ERROR_WANT_WRITE = 3
SSL_ERROR_WANT_X509_LOOKUP = 4
SSL_ERROR_SYSCALL = 5
SSL_ERROR_ZERO_RETURN = 6
SSL_ERROR_WANT_CONNECT = 7
SSL_ERROR_EOF = 8
SSL_ERROR_INVALID_ERROR_CODE = 10

# OpenSSL 3.0's values (ssl.h), as CPython's _ssl exports them.
OP_ALL = 0x80000050
OP_NO_SSLv2 = 0
OP_NO_SSLv3 = 0x02000000
OP_NO_TLSv1 = 0x04000000
OP_NO_TLSv1_1 = 0x10000000
OP_NO_TLSv1_2 = 0x08000000
OP_NO_TLSv1_3 = 0x20000000
OP_CIPHER_SERVER_PREFERENCE = 0x00400000
OP_SINGLE_DH_USE = 0
OP_SINGLE_ECDH_USE = 0
OP_NO_TICKET = 0x00004000
OP_NO_COMPRESSION = 0x00020000
OP_ENABLE_MIDDLEBOX_COMPAT = 0x00100000
OP_NO_RENEGOTIATION = 0x40000000
OP_IGNORE_UNEXPECTED_EOF = 0x00000080
OP_LEGACY_SERVER_CONNECT = 0x00000004
OP_ENABLE_KTLS = 0x00000008

VERIFY_DEFAULT = 0
VERIFY_CRL_CHECK_LEAF = 0x4
VERIFY_CRL_CHECK_CHAIN = 0xC
VERIFY_X509_STRICT = 0x20
VERIFY_ALLOW_PROXY_CERTS = 0x40
VERIFY_X509_TRUSTED_FIRST = 0x8000
VERIFY_X509_PARTIAL_CHAIN = 0x80000

HOSTFLAG_ALWAYS_CHECK_SUBJECT = 0x1
HOSTFLAG_NO_WILDCARDS = 0x2
HOSTFLAG_NO_PARTIAL_WILDCARDS = 0x4
HOSTFLAG_MULTI_LABEL_WILDCARDS = 0x8
HOSTFLAG_SINGLE_LABEL_SUBDOMAINS = 0x10
HOSTFLAG_NEVER_CHECK_SUBJECT = 0x20

ENCODING_PEM = 1
ENCODING_DER = 2

PROTO_MINIMUM_SUPPORTED = -2
PROTO_MAXIMUM_SUPPORTED = -1
PROTO_SSLv3 = 0x300
PROTO_TLSv1 = 0x301
PROTO_TLSv1_1 = 0x302
PROTO_TLSv1_2 = 0x303
PROTO_TLSv1_3 = 0x304

ALERT_DESCRIPTION_CLOSE_NOTIFY = 0
ALERT_DESCRIPTION_UNEXPECTED_MESSAGE = 10
ALERT_DESCRIPTION_BAD_RECORD_MAC = 20
ALERT_DESCRIPTION_RECORD_OVERFLOW = 22
ALERT_DESCRIPTION_DECOMPRESSION_FAILURE = 30
ALERT_DESCRIPTION_HANDSHAKE_FAILURE = 40
ALERT_DESCRIPTION_BAD_CERTIFICATE = 42
ALERT_DESCRIPTION_UNSUPPORTED_CERTIFICATE = 43
ALERT_DESCRIPTION_CERTIFICATE_REVOKED = 44
ALERT_DESCRIPTION_CERTIFICATE_EXPIRED = 45
ALERT_DESCRIPTION_CERTIFICATE_UNKNOWN = 46
ALERT_DESCRIPTION_ILLEGAL_PARAMETER = 47
ALERT_DESCRIPTION_UNKNOWN_CA = 48
ALERT_DESCRIPTION_ACCESS_DENIED = 49
ALERT_DESCRIPTION_DECODE_ERROR = 50
ALERT_DESCRIPTION_DECRYPT_ERROR = 51
ALERT_DESCRIPTION_PROTOCOL_VERSION = 70
ALERT_DESCRIPTION_INSUFFICIENT_SECURITY = 71
ALERT_DESCRIPTION_INTERNAL_ERROR = 80
ALERT_DESCRIPTION_USER_CANCELLED = 90
ALERT_DESCRIPTION_NO_RENEGOTIATION = 100
ALERT_DESCRIPTION_UNSUPPORTED_EXTENSION = 110
ALERT_DESCRIPTION_CERTIFICATE_UNOBTAINABLE = 111
ALERT_DESCRIPTION_UNRECOGNIZED_NAME = 112
ALERT_DESCRIPTION_BAD_CERTIFICATE_STATUS_RESPONSE = 113
ALERT_DESCRIPTION_BAD_CERTIFICATE_HASH_VALUE = 114
ALERT_DESCRIPTION_UNKNOWN_PSK_IDENTITY = 115

HAS_SNI = True
HAS_ECDH = True
HAS_NPN = False
HAS_ALPN = True
HAS_SSLv2 = False
HAS_SSLv3 = False
HAS_TLSv1 = True
HAS_TLSv1_1 = True
HAS_TLSv1_2 = True
HAS_TLSv1_3 = True
HAS_PSK = False
HAS_PHA = True
HAS_NEVER_CHECK_COMMON_NAME = True

CHANNEL_BINDING_TYPES = []

_IntEnum._convert_(
    "_SSLMethod", __name__, lambda name: name.startswith("PROTOCOL_") and name != "PROTOCOL_SSLv23"
)
PROTOCOL_SSLv23 = _SSLMethod.PROTOCOL_SSLv23 = _SSLMethod.PROTOCOL_TLS  # noqa: F821 (made by _convert_)
_IntFlag._convert_("Options", __name__, lambda name: name.startswith("OP_"))
_IntEnum._convert_("AlertDescription", __name__, lambda name: name.startswith("ALERT_DESCRIPTION_"))
_IntEnum._convert_("SSLErrorNumber", __name__, lambda name: name.startswith("SSL_ERROR_"))
_IntFlag._convert_("VerifyFlags", __name__, lambda name: name.startswith("VERIFY_"))
_IntEnum._convert_("VerifyMode", __name__, lambda name: name.startswith("CERT_"))
_PROTOCOL_NAMES = {value: name for name, value in _SSLMethod.__members__.items()}  # noqa: F821


class TLSVersion(_IntEnum):
    MINIMUM_SUPPORTED = PROTO_MINIMUM_SUPPORTED
    SSLv3 = PROTO_SSLv3
    TLSv1 = PROTO_TLSv1
    TLSv1_1 = PROTO_TLSv1_1
    TLSv1_2 = PROTO_TLSv1_2
    TLSv1_3 = PROTO_TLSv1_3
    MAXIMUM_SUPPORTED = PROTO_MAXIMUM_SUPPORTED


# ----------------------------------------------------------------- errors


class SSLError(OSError):
    """An error from the TLS library: args (SSL_ERROR_* code, text), library, reason."""

    library = None
    reason = None

    def __str__(self):
        if isinstance(self.strerror, str):
            return self.strerror
        return str(self.args)


class SSLZeroReturnError(SSLError):
    """SSL/TLS session closed cleanly."""


class SSLWantReadError(SSLError):
    """Non-blocking SSL socket needs to read more data."""


class SSLWantWriteError(SSLError):
    """Non-blocking SSL socket needs to write more data."""


class SSLSyscallError(SSLError):
    """System error when attempting SSL operation."""


class SSLEOFError(SSLError):
    """SSL/TLS connection terminated abruptly."""


class SSLCertVerificationError(SSLError, ValueError):
    """A certificate could not be verified."""

    verify_code = None
    verify_message = None


CertificateError = SSLCertVerificationError
socket_error = OSError

_ERROR_CLASSES = {
    cls.__name__: cls
    for cls in (SSLError, SSLZeroReturnError, SSLWantReadError, SSLWantWriteError, SSLSyscallError, SSLEOFError, SSLCertVerificationError)
}


def _exception(info):
    """The exception a TlsErrorInfo (JSON from the host layer) describes."""
    if isinstance(info, str):
        info = _json.loads(info)
    kind = info["type"]
    if kind == "OSError":
        code = getattr(_errno, info["errno"], _errno.EIO)
        return OSError(code, info["message"] or os.strerror(code))
    if kind == "TimeoutError":
        return TimeoutError(info["message"])
    cls = _ERROR_CLASSES[kind]
    exc = cls(info["message"]) if info["errno"] is None else cls(info["errno"], info["message"])
    exc.library = info.get("library")
    exc.reason = info.get("reason")
    if "verify_code" in info:
        exc.verify_code = info["verify_code"]
        exc.verify_message = info["verify_message"]
    return exc


def _check(result):
    if result is not None:
        raise _exception(result)


# Bytes cross to the host through this buffer: JS reads and writes it in the
# interpreter's memory at _SCRATCH (a call with numbers costs 3-11 µs, one
# with a bytes object 56 µs, measured in Pyodide). One Python thread: one
# buffer serves every connection. 64 KiB: four TLS records per call.
_SCRATCH_SIZE = 65536
_scratch = bytearray(_SCRATCH_SIZE)
_scratch_view = memoryview(_scratch)
_scratch_c = (ctypes.c_char * _SCRATCH_SIZE).from_buffer(_scratch)
_SCRATCH = ctypes.addressof(_scratch_c)


def _wait_for_signal():
    """A wait gave way to a signal: let Python's check run its handler (a
    raising handler ends the operation, as under CPython; otherwise it resumes).
    Pyodide looks at the interrupt buffer every few bytecodes."""
    for _ in range(1000):
        pass


# ----------------------------------------------------------------- objects


class _ASN1Object(namedtuple("_ASN1Object", "nid shortname longname oid")):
    """ASN.1 object identifier lookup (the purposes CPython's code uses)."""

    __slots__ = ()
    _KNOWN = (
        (129, "serverAuth", "TLS Web Server Authentication", "1.3.6.1.5.5.7.3.1"),
        (130, "clientAuth", "TLS Web Client Authentication", "1.3.6.1.5.5.7.3.2"),
    )

    def __new__(cls, oid):
        for known in cls._KNOWN:
            if oid in (known[3], known[1], known[2]):
                return super().__new__(cls, *known)
        raise ValueError(f"unknown object '{oid}'")

    @classmethod
    def fromnid(cls, nid):
        for known in cls._KNOWN:
            if known[0] == nid:
                return super().__new__(cls, *known)
        raise ValueError(f"unknown NID {nid}")

    @classmethod
    def fromname(cls, name):
        return cls(name)


class Purpose(_ASN1Object, _Enum):
    """SSLContext purpose flags with X509v3 Extended Key Usage objects."""

    SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
    CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


DefaultVerifyPaths = namedtuple(
    "DefaultVerifyPaths", "cafile capath openssl_cafile_env openssl_cafile openssl_capath_env openssl_capath"
)

# Where the host keeps its CA certificates. Node's OpenSSL was built with
# /etc/ssl/cert.pem, which Debian and Ubuntu do not have: CPython on Debian
# finds their bundle through /usr/lib/ssl/cert.pem, a link to
# /etc/ssl/certs/ca-certificates.crt (Alpine has the same file; RHEL and
# Fedora have /etc/pki/tls/certs/ca-bundle.crt).
_CA_FILES = (
    _INFO["default_file"],
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
)


def _openssl_cafile():
    for path in _CA_FILES:
        if _host.tls_host_path_kind(path) == "file":
            return path
    return _INFO["default_file"]


def get_default_verify_paths():
    """Return paths to default cafile and capath."""
    openssl_cafile = _openssl_cafile()
    openssl_capath = _INFO["default_dir"]
    cafile = os.environ.get("SSL_CERT_FILE", openssl_cafile)
    capath = os.environ.get("SSL_CERT_DIR", openssl_capath)
    # Looked up on the host, where OpenSSL reads them (the interpreter need not see /etc/ssl).
    return DefaultVerifyPaths(
        cafile if _host.tls_host_path_kind(cafile) == "file" else None,
        capath if _host.tls_host_path_kind(capath) == "dir" else None,
        "SSL_CERT_FILE",
        openssl_cafile,
        "SSL_CERT_DIR",
        openssl_capath,
    )


def _tuples(value):
    """getpeercert()'s JSON (lists) -> CPython's tuples, recursively."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _cert_dict(text):
    cert = _json.loads(text)
    return {key: _tuples(value) for key, value in cert.items()}


# ----------------------------------------------------------------- contexts


class SSLContext:
    """An SSLContext holds various SSL-related configuration options and
    data, such as certificates and possibly a private key."""

    sslsocket_class = None  # SSLSocket, set below
    sslobject_class = None

    def __new__(cls, protocol=None, *args, **kwargs):
        if protocol is None:
            _warnings.warn("ssl.SSLContext() without protocol argument is deprecated.", category=DeprecationWarning, stacklevel=2)
            protocol = PROTOCOL_TLS
        if not isinstance(protocol, int):
            raise TypeError(f"'{type(protocol).__name__}' object cannot be interpreted as an integer")
        if protocol in (PROTOCOL_TLSv1, PROTOCOL_TLSv1_1, PROTOCOL_TLSv1_2):
            _warnings.warn(f"ssl.{_SSLMethod(protocol).name} is deprecated", category=DeprecationWarning, stacklevel=2)  # noqa: F821
        elif protocol not in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            raise ValueError(f"invalid or unsupported protocol version {protocol}")
        self = object.__new__(cls)
        self._protocol = protocol
        # What was set on the context, replayed when the interpreter comes back
        # from a --preload snapshot (the host's SSL_CTX does not survive it).
        self._replay = []
        self._check_hostname = protocol == PROTOCOL_TLS_CLIENT
        self._host_flags = HOSTFLAG_NO_PARTIAL_WILDCARDS
        self._alpn = None
        self._sni_callback = None
        self._new_native()
        if protocol in (PROTOCOL_TLSv1, PROTOCOL_TLSv1_1, PROTOCOL_TLSv1_2):
            version = {PROTOCOL_TLSv1: PROTO_TLSv1, PROTOCOL_TLSv1_1: PROTO_TLSv1_1, PROTOCOL_TLSv1_2: PROTO_TLSv1_2}[protocol]
            self._set("minimum_version", version)
            self._set("maximum_version", version)
        return self

    def __init__(self, protocol=None):
        pass

    def _new_native(self):
        self._epoch = _host.tls_epoch()
        self._id = _host.tls_ctx_new(self._protocol)
        _host.tls_ctx_set(self._id, "check_hostname", int(self._check_hostname))
        _host.tls_ctx_set(self._id, "host_flags", self._host_flags)

    def _native(self):
        """The host's context; rebuilt (with everything set on it replayed) after a snapshot's restore."""
        if self._epoch != _host.tls_epoch():
            self._new_native()
            for call, args in self._replay:
                getattr(self, call)(*args, _record=False)
        return self._id

    def __del__(self):
        try:
            if self._epoch == _host.tls_epoch():
                _host.tls_ctx_free(self._id)
        except Exception:
            pass

    def _get(self, name):
        return _host.tls_ctx_get(self._native(), name)

    def _set(self, name, value, _record=True):
        ok = _host.tls_ctx_set(self._native(), name, value)
        if _record:
            self._replay.append(("_set", (name, value)))
        return ok

    @property
    def protocol(self):
        return _SSLMethod(self._protocol)  # noqa: F821

    # -- verification

    @property
    def verify_mode(self):
        return VerifyMode(self._get("verify_mode"))  # noqa: F821

    @verify_mode.setter
    def verify_mode(self, value):
        if not isinstance(value, int):
            raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
        if value not in (CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED):
            raise ValueError("invalid value for verify_mode")
        if value == CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        self._set("verify_mode", int(value))

    @property
    def check_hostname(self):
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value):
        value = bool(value)
        if value and self._get("verify_mode") == CERT_NONE:
            self._set("verify_mode", CERT_REQUIRED)
        self._check_hostname = value
        self._set("check_hostname", int(value))

    @property
    def verify_flags(self):
        return VerifyFlags(self._get("verify_flags"))  # noqa: F821

    @verify_flags.setter
    def verify_flags(self, value):
        self._set("verify_flags", int(value))

    @property
    def hostname_checks_common_name(self):
        return not (self._host_flags & HOSTFLAG_NEVER_CHECK_SUBJECT)

    @hostname_checks_common_name.setter
    def hostname_checks_common_name(self, value):
        if value:
            self._host_flags &= ~HOSTFLAG_NEVER_CHECK_SUBJECT
        else:
            self._host_flags |= HOSTFLAG_NEVER_CHECK_SUBJECT
        self._set("host_flags", self._host_flags)

    @property
    def security_level(self):
        return self._get("security_level")

    @property
    def options(self):
        return Options(self._get("options"))  # noqa: F821

    @options.setter
    def options(self, value):
        if value < 0:
            raise ValueError("options must be a non-negative integer")
        self._set("options", int(value))

    # -- protocol versions

    def _version(self, which):
        v = self._get(which)
        if v == 0:
            return TLSVersion.MINIMUM_SUPPORTED if which == "minimum_version" else TLSVersion.MAXIMUM_SUPPORTED
        return TLSVersion(v)

    def _set_version(self, which, value):
        if self._protocol not in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            raise ValueError("The context's protocol doesn't support modification of highest and lowest version.")
        value = TLSVersion(value)
        v = 0 if value in (TLSVersion.MINIMUM_SUPPORTED, TLSVersion.MAXIMUM_SUPPORTED) else int(value)
        if not self._set(which, v):
            raise ValueError(f"Unsupported TLS/SSL version 0x{int(value) & 0xFFFFFFFF:x}")

    @property
    def minimum_version(self):
        return self._version("minimum_version")

    @minimum_version.setter
    def minimum_version(self, value):
        self._set_version("minimum_version", value)

    @property
    def maximum_version(self):
        return self._version("maximum_version")

    @maximum_version.setter
    def maximum_version(self, value):
        self._set_version("maximum_version", value)

    # -- certificates

    def load_verify_locations(self, cafile=None, capath=None, cadata=None, _record=True):
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        cafile = None if cafile is None else os.path.abspath(os.fsdecode(cafile))
        capath = None if capath is None else os.path.abspath(os.fsdecode(capath))
        if cadata is not None:
            if isinstance(cadata, str):
                data, pem = cadata.encode("ascii"), True
            else:
                try:
                    data, pem = bytes(memoryview(cadata)), False
                except TypeError:
                    raise TypeError("cadata should be an ASCII string or a bytes-like object") from None
            _check(_host.tls_ctx_load_verify_data(self._native(), data, pem))
        if cafile is not None or capath is not None:
            _check(_host.tls_ctx_load_verify(self._native(), cafile, capath))
        if _record:
            self._replay.append(("load_verify_locations", (cafile, capath, cadata)))

    def load_cert_chain(self, certfile, keyfile=None, password=None, _record=True):
        certfile = os.path.abspath(os.fsdecode(certfile))
        keyfile = None if keyfile is None else os.path.abspath(os.fsdecode(keyfile))
        pw = None
        if password is not None:
            if callable(password):
                password = password()
            if isinstance(password, str):
                pw = password.encode("utf-8")
            elif isinstance(password, (bytes, bytearray)):
                pw = bytes(password)
            else:
                raise TypeError("password callback must return a string")
            if len(pw) > 1024:
                raise ValueError("password cannot be longer than 1024 bytes")
        _check(_host.tls_ctx_load_cert_chain(self._native(), certfile, keyfile, pw))
        if _record:
            self._replay.append(("load_cert_chain", (certfile, keyfile, pw)))

    def set_default_verify_paths(self, _record=True):
        """The host's CA store, as CPython on Debian finds it (SSL_CERT_FILE / SSL_CERT_DIR honoured)."""
        paths = get_default_verify_paths()
        if paths.cafile:
            _check(_host.tls_ctx_load_verify(self._native(), paths.cafile, None))
        if paths.capath:
            _check(_host.tls_ctx_load_verify(self._native(), None, paths.capath))
        if _record:
            self._replay.append(("set_default_verify_paths", ()))

    def load_default_certs(self, purpose=Purpose.SERVER_AUTH):
        if not isinstance(purpose, _ASN1Object):
            raise TypeError(purpose)
        self.set_default_verify_paths()

    def cert_store_stats(self):
        return _json.loads(_host.tls_ctx_stats(self._native()))

    def get_ca_certs(self, binary_form=False):
        ders = [base64.b64decode(d) for d in _json.loads(_host.tls_ctx_ca_certs(self._native()))]
        if binary_form:
            return ders
        return [_cert_dict(_host.tls_decode_der(d)) for d in ders]

    def load_dh_params(self, path):
        raise NotImplementedError("SSLContext.load_dh_params is not available under nicorn-py")

    def set_ecdh_curve(self, name):
        raise NotImplementedError("SSLContext.set_ecdh_curve is not available under nicorn-py")

    # -- ciphers and protocols

    def set_ciphers(self, ciphers, _record=True):
        if not isinstance(ciphers, str):
            raise TypeError(f"set_ciphers() argument must be str, not {type(ciphers).__name__}")
        _check(_host.tls_ctx_set_ciphers(self._native(), ciphers))
        if _record:
            self._replay.append(("set_ciphers", (ciphers,)))

    def get_ciphers(self):
        raise NotImplementedError("SSLContext.get_ciphers is not available under nicorn-py")

    def set_alpn_protocols(self, alpn_protocols, _record=True):
        wire = bytearray()
        for proto in alpn_protocols:
            b = bytes(proto, "ascii")
            if len(b) == 0 or len(b) > 255:
                raise SSLError("ALPN protocols must be 1 to 255 in length")
            wire.append(len(b))
            wire.extend(b)
        _host.tls_ctx_set_alpn(self._native(), bytes(wire))
        if _record:
            self._replay.append(("set_alpn_protocols", (list(alpn_protocols),)))

    def set_npn_protocols(self, npn_protocols):
        _warnings.warn("ssl NPN is deprecated, use ALPN instead", DeprecationWarning, stacklevel=2)

    @property
    def sni_callback(self):
        return self._sni_callback

    @sni_callback.setter
    def sni_callback(self, callback):
        if callback is not None:
            raise NotImplementedError("SSLContext.sni_callback (server-side SNI) is not available under nicorn-py")

    def set_servername_callback(self, server_name_callback):
        self.sni_callback = server_name_callback

    @property
    def post_handshake_auth(self):
        return getattr(self, "_pha", False)

    @post_handshake_auth.setter
    def post_handshake_auth(self, value):
        self._pha = bool(value)
        self._set("post_handshake_auth", int(self._pha))

    @property
    def keylog_filename(self):
        return None

    @keylog_filename.setter
    def keylog_filename(self, value):
        if value is not None:
            raise NotImplementedError("SSLContext.keylog_filename is not available under nicorn-py")

    @property
    def num_tickets(self):
        return 2

    def session_stats(self):
        return {k: 0 for k in ("number", "connect", "connect_good", "connect_renegotiate", "accept", "accept_good",
                               "accept_renegotiate", "hits", "misses", "timeouts", "cache_full")}

    # -- wrapping

    def _encode_hostname(self, hostname):
        if hostname is None:
            return None
        if isinstance(hostname, str):
            return hostname.encode("idna").decode("ascii")
        return hostname.decode("ascii")

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, suppress_ragged_eofs=True,
                    server_hostname=None, session=None):
        return self.sslsocket_class._create(
            sock=sock, server_side=server_side, do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs, server_hostname=server_hostname, context=self, session=session,
        )

    def wrap_bio(self, incoming, outgoing, server_side=False, server_hostname=None, session=None):
        return self.sslobject_class._create(
            incoming, outgoing, server_side=server_side, server_hostname=self._encode_hostname(server_hostname),
            session=session, context=self,
        )


def create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    """A context with secure default settings for `purpose`, as CPython 3.14's."""
    if not isinstance(purpose, _ASN1Object):
        raise TypeError(purpose)
    if purpose == Purpose.SERVER_AUTH:
        context = SSLContext(PROTOCOL_TLS_CLIENT)
        context.verify_mode = CERT_REQUIRED
        context.check_hostname = True
    elif purpose == Purpose.CLIENT_AUTH:
        context = SSLContext(PROTOCOL_TLS_SERVER)
    else:
        raise ValueError(purpose)
    context.verify_flags |= VERIFY_X509_PARTIAL_CHAIN | VERIFY_X509_STRICT
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    elif context.verify_mode != CERT_NONE:
        context.load_default_certs(purpose)
    return context


def _create_unverified_context(protocol=None, *, cert_reqs=CERT_NONE, check_hostname=False,
                               purpose=Purpose.SERVER_AUTH, certfile=None, keyfile=None,
                               cafile=None, capath=None, cadata=None):
    if not isinstance(purpose, _ASN1Object):
        raise TypeError(purpose)
    if purpose == Purpose.SERVER_AUTH:
        if protocol is None:
            protocol = PROTOCOL_TLS_CLIENT
    elif purpose == Purpose.CLIENT_AUTH:
        if protocol is None:
            protocol = PROTOCOL_TLS_SERVER
    else:
        raise ValueError(purpose)
    context = SSLContext(protocol)
    context.check_hostname = check_hostname
    if cert_reqs is not None:
        context.verify_mode = cert_reqs
    if keyfile and not certfile:
        raise ValueError("certfile must be specified")
    if certfile or keyfile:
        context.load_cert_chain(certfile, keyfile)
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    elif context.verify_mode != CERT_NONE:
        context.load_default_certs(purpose)
    return context


_create_default_https_context = create_default_context
_create_stdlib_context = _create_unverified_context


# ----------------------------------------------------------------- sockets


class _TLSConnection:
    """What SSLSocket and SSLObject share: the host's connection (`_conn`)."""

    _conn = None
    _epoch = None
    _done = False

    def _timeout(self):
        """Seconds an operation may wait (-1: no limit); an SSLObject never waits."""
        return 0

    def _call(self, op, *args):
        """Runs a host operation until it completes or raises, as _ssl.c's loops do."""
        while True:
            r = op(self._conn, *args, self._timeout())
            if r >= 0:
                return r
            if r == -2:
                _wait_for_signal()
                continue
            raise _exception(_host.tls_error(self._conn))

    def _failed(self, k):
        """A host operation answered k < 0: returns to try it again after a
        signal was handled (-2), raises the failure (-1) as _ssl would."""
        if k == -2:
            _wait_for_signal()
            return
        raise _exception(_host.tls_error(self._conn))

    # The paths below run for every send and recv: they are kept flat (each
    # Python call costs about a microsecond in the interpreter).

    def _read(self, len, buffer):
        conn = self._conn
        if buffer is None:
            if len < 0:
                raise ValueError("size should not be negative")
            n = len if len < _SCRATCH_SIZE else _SCRATCH_SIZE
            while True:
                k = _host.tls_read(conn, _SCRATCH, n, self._timeout())
                if k >= 0:
                    return bytes(_scratch_view[:k])
                self._failed(k)
        with memoryview(buffer) as mv, mv.cast("B") as view:
            n = len if 0 < len <= view.nbytes else view.nbytes
            n = min(n, _SCRATCH_SIZE)
            while True:
                k = _host.tls_read(conn, _SCRATCH, n, self._timeout())
                if k >= 0:
                    view[:k] = _scratch_view[:k]
                    return k
                self._failed(k)

    def _write(self, data):
        # As CPython's write: all of data is sent (in pieces of the scratch's
        # size) or an error raised. The data is copied into the scratch on
        # every try: a signal handler may have used it.
        conn = self._conn
        if type(data) is bytes and len(data) <= _SCRATCH_SIZE:
            n = len(data)
            while True:
                _scratch_view[:n] = data
                k = _host.tls_write(conn, _SCRATCH, n, self._timeout())
                if k >= 0:
                    return n
                self._failed(k)
        with memoryview(data) as mv, mv.cast("B") as view:
            total = view.nbytes
            done = 0
            while done < total:
                n = min(_SCRATCH_SIZE, total - done)
                while True:
                    _scratch_view[:n] = view[done:done + n]
                    k = _host.tls_write(conn, _SCRATCH, n, self._timeout())
                    if k >= 0:
                        break
                    self._failed(k)
                done += k
            return total

    def _handshake(self):
        self._call(_host.tls_handshake)
        self._done = True

    def _free(self):
        conn, self._conn = self._conn, None
        if conn is not None and self._epoch == _host.tls_epoch():
            _host.tls_conn_free(conn)

    def _peercert(self, binary_form):
        if self._conn is None or not self._done:
            raise ValueError("handshake not done yet")
        if binary_form:
            der = _host.tls_peer_cert(self._conn, True)
            return None if der is None else der.to_bytes()
        text = _host.tls_peer_cert(self._conn, False)
        if text is None:
            return None
        # As _ssl.c: without verification the dict is empty.
        if self._context.verify_mode == CERT_NONE:
            return {}
        return _cert_dict(text)

    def _info(self):
        if self._conn is None:
            return None
        return _json.loads(_host.tls_conn_info(self._conn))

    def selected_npn_protocol(self):
        _warnings.warn("ssl NPN is deprecated, use ALPN instead", DeprecationWarning, stacklevel=2)
        return None

    def selected_alpn_protocol(self):
        info = self._info()
        return None if info is None else info["alpn"]

    def cipher(self):
        info = self._info()
        return None if info is None or info["cipher"] is None else tuple(info["cipher"])

    def shared_ciphers(self):
        return None

    def compression(self):
        return None

    def version(self):
        info = self._info()
        if info is None or not self._done:
            return None
        return info["version"]

    def get_verified_chain(self):
        raise NotImplementedError(f"{type(self).__name__}.get_verified_chain is not available under nicorn-py")

    def get_unverified_chain(self):
        raise NotImplementedError(f"{type(self).__name__}.get_unverified_chain is not available under nicorn-py")

    def get_channel_binding(self, cb_type="tls-unique"):
        raise ValueError(f"{cb_type} channel binding type not implemented")

    def verify_client_post_handshake(self):
        raise NotImplementedError("TLS 1.3 post-handshake authentication is not available under nicorn-py")

    @property
    def session(self):
        return None

    @session.setter
    def session(self, session):
        if session is not None:
            raise NotImplementedError("TLS sessions are not available under nicorn-py")

    @property
    def session_reused(self):
        return None if self._conn is None else False


class MemoryBIO:
    """Bytes in or out of an SSLObject (OpenSSL's memory BIO on the host)."""

    def __init__(self):
        self._epoch = _host.tls_epoch()
        self._id = _host.tls_bio_new()
        self._wrote_eof = False

    def __del__(self):
        try:
            if self._epoch == _host.tls_epoch():
                _host.tls_bio_free(self._id)
        except Exception:
            pass

    @property
    def pending(self):
        """The number of bytes pending in the memory BIO."""
        return _host.tls_bio_pending(self._id)

    @property
    def eof(self):
        """Whether the memory BIO is at EOF."""
        return bool(_host.tls_bio_eof(self._id))

    def read(self, size=-1):
        """Read up to size bytes from the memory BIO; all of them when size is negative."""
        n = self.pending
        if size >= 0:
            n = min(n, size)
        out = bytearray()
        while len(out) < n:
            k = _host.tls_bio_read(self._id, _SCRATCH, min(_SCRATCH_SIZE, n - len(out)))
            if k <= 0:
                break
            out += _scratch_view[:k]
        return bytes(out)

    def write(self, b):
        """Writes the bytes b into the memory BIO; returns their number."""
        with memoryview(b) as mv, mv.cast("B") as view:
            if self._wrote_eof:
                raise SSLError("cannot write() after write_eof()")
            for i in range(0, view.nbytes, _SCRATCH_SIZE):
                chunk = view[i:i + _SCRATCH_SIZE]
                _scratch_view[:len(chunk)] = chunk
                _host.tls_bio_write(self._id, _SCRATCH, len(chunk))
            return view.nbytes

    def write_eof(self):
        """Write an EOF marker to the memory BIO: when all data is read, the SSL sees EOF."""
        self._wrote_eof = True
        _host.tls_bio_write_eof(self._id)


class SSLObject(_TLSConnection):
    """TLS over memory buffers (MemoryBIOs) with the same methods as SSLSocket,
    for asyncio and other event loops. It never waits: an operation that needs
    more incoming data raises SSLWantReadError."""

    def __init__(self, *args, **kwargs):
        raise TypeError(f"{self.__class__.__name__} does not have a public constructor. "
                        "Instances are returned by SSLContext.wrap_bio().")

    @classmethod
    def _create(cls, incoming, outgoing, server_side=False, server_hostname=None, session=None, context=None):
        if session is not None:
            raise NotImplementedError("TLS sessions are not available under nicorn-py")
        if not server_side and context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        self = cls.__new__(cls)
        self._context = context
        self._server_side = server_side
        self._server_hostname = server_hostname
        self._incoming, self._outgoing = incoming, outgoing
        self._conn = _host.tls_conn_new_bio(context._native(), incoming._id, outgoing._id, server_side, server_hostname)
        self._epoch = _host.tls_epoch()
        return self

    def __del__(self):
        try:
            self._free()
        except Exception:
            pass

    @property
    def context(self):
        """The SSLContext that is currently in use."""
        return self._context

    @context.setter
    def context(self, ctx):
        self._context = ctx

    @property
    def server_side(self):
        """Whether this is a server-side socket."""
        return self._server_side

    @property
    def server_hostname(self):
        """The currently set server hostname (for SNI), or None if no server hostname is set."""
        return self._server_hostname

    def read(self, len=1024, buffer=None):
        """Read up to 'len' bytes from the SSL object and return them.

        If 'buffer' is provided, read into this buffer and return the number of bytes read.
        """
        if self._conn is None:
            raise ValueError("Read on closed or unwrapped SSL socket.")
        return self._read(len, buffer)

    def write(self, data):
        """Write 'data' to the SSL object and return the number of bytes written."""
        if self._conn is None:
            raise ValueError("Write on closed or unwrapped SSL socket.")
        return self._write(data)

    def getpeercert(self, binary_form=False):
        """The certificate of the other end, as SSLSocket.getpeercert."""
        return self._peercert(binary_form)

    def pending(self):
        """Return the number of bytes that can be read immediately."""
        return 0 if self._conn is None else _host.tls_pending(self._conn)

    def do_handshake(self):
        """Start the SSL/TLS handshake."""
        self._handshake()

    def unwrap(self):
        """Start the SSL shutdown handshake."""
        self._call(_host.tls_shutdown)


class SSLSession:
    def __init__(self):
        raise NotImplementedError("ssl.SSLSession is not available under nicorn-py")
class SSLSocket(_TLSConnection, socket):
    """This class implements a subtype of socket.socket that wraps the
    underlying OS socket in an SSL context when necessary, and provides
    read and write methods over that channel."""

    def __init__(self, *args, **kwargs):
        raise TypeError(f"{self.__class__.__name__} does not have a public constructor. "
                        "Instances are returned by SSLContext.wrap_socket().")

    @classmethod
    def _create(cls, sock, server_side=False, do_handshake_on_connect=True, suppress_ragged_eofs=True,
                server_hostname=None, context=None, session=None):
        if sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_TYPE) != SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        if server_side:
            if server_hostname:
                raise ValueError("server_hostname can only be specified in client mode")
            if session is not None:
                raise ValueError("session can only be specified in client mode")
        if context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        if session is not None:
            raise NotImplementedError("TLS sessions are not available under nicorn-py")
        kwargs = dict(family=sock.family, type=sock.type, proto=sock.proto, fileno=sock.fileno())
        self = cls.__new__(cls, **kwargs)
        super(SSLSocket, self).__init__(**kwargs)
        sock_timeout = sock.gettimeout()
        sock.detach()
        self._context = context
        self._conn = None
        self._epoch = None
        self.server_side = server_side
        self.server_hostname = context._encode_hostname(server_hostname)
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        self.settimeout(sock_timeout)
        # See if we are connected
        try:
            self.getpeername()
        except OSError as e:
            if e.errno != _errno.ENOTCONN:
                raise
            connected = False
            blocking = self.getblocking()
            self.setblocking(False)
            try:
                # We are not connected so this is not supposed to block, but
                # testing for available data would consume it: CPython
                # does the same with recv(1, MSG_PEEK).
                notconn_pre_handshake_data = self.recv(1)
            except OSError as e:
                if e.errno not in (_errno.ENOTCONN, _errno.EINVAL):
                    raise
                notconn_pre_handshake_data = b""
            self.setblocking(blocking)
            if notconn_pre_handshake_data:
                reason = "Closed before TLS handshake with data in recv buffer."
                exc = SSLError(_errno.ENOTCONN, reason)
                exc.reason = reason
                exc.library = None
                raise exc
        else:
            connected = True
        self._connected = connected
        if connected:
            try:
                self._start()
                if do_handshake_on_connect:
                    timeout = self.gettimeout()
                    if timeout == 0.0:
                        raise ValueError("do_handshake_on_connect should not be specified for non-blocking sockets")
                    self.do_handshake()
            except (OSError, ValueError):
                self.close()
                raise
        return self

    def _timeout(self):
        t = self.gettimeout()
        return -1 if t is None else t

    def _start(self):
        conn = _host.tls_conn_new(self._context._native(), self.fileno(), self.server_side, self.server_hostname)
        if isinstance(conn, str):
            raise _exception(conn)
        self._conn = conn
        self._epoch = _host.tls_epoch()

    @property
    def context(self):
        return self._context

    @context.setter
    def context(self, ctx):
        self._context = ctx

    def dup(self):
        raise NotImplementedError(f"Can't dup() {self.__class__.__name__} instances")

    def _checkClosed(self, msg=None):
        # raise an exception here if you wish to check for spurious closes
        pass

    def _check_connected(self):
        if not self._connected:
            # getpeername() will raise ENOTCONN if the socket is really
            # not connected; note that we can be connected even without
            # _connected being set, e.g. if connect() first returned EAGAIN.
            self.getpeername()

    def read(self, len=1024, buffer=None):
        """Read up to LEN bytes and return them. Return zero-length string on EOF."""
        self._checkClosed()
        if self._conn is None:
            raise ValueError("Read on closed or unwrapped SSL socket.")
        try:
            return self._read(len, buffer)
        except SSLError as x:
            if x.args[0] == SSL_ERROR_EOF and self.suppress_ragged_eofs:
                if buffer is not None:
                    return 0
                return b""
            raise

    def write(self, data):
        """Write DATA to the underlying SSL channel. Returns number of bytes of DATA actually transmitted."""
        self._checkClosed()
        if self._conn is None:
            raise ValueError("Write on closed or unwrapped SSL socket.")
        return self._write(data)

    def getpeercert(self, binary_form=False):
        """The certificate of the peer: its dict (subject, issuer, subjectAltName ...) when it was
        verified, {} when not; DER bytes with binary_form; None when the peer sent none."""
        self._checkClosed()
        self._check_connected()
        return self._peercert(binary_form)

    def send(self, data, flags=0):
        self._checkClosed()
        if self._conn is not None:
            if flags != 0:
                raise ValueError("non-zero flags not allowed in calls to send() on %s" % self.__class__)
            return self._write(data)
        return super().send(data, flags)

    def sendto(self, data, flags_or_addr, addr=None):
        self._checkClosed()
        if self._conn is not None:
            raise ValueError("sendto not allowed on instances of %s" % self.__class__)
        elif addr is None:
            return super().sendto(data, flags_or_addr)
        return super().sendto(data, flags_or_addr, addr)

    def sendmsg(self, *args, **kwargs):
        raise NotImplementedError("sendmsg not allowed on instances of %s" % self.__class__)

    def sendall(self, data, flags=0):
        self._checkClosed()
        if self._conn is not None:
            if flags != 0:
                raise ValueError("non-zero flags not allowed in calls to sendall() on %s" % self.__class__)
            # CPython loops on send(); its write, as ours, sends everything at once.
            self._write(data)
        else:
            return super().sendall(data, flags)

    def sendfile(self, file, offset=0, count=None):
        """Send a file, possibly by using an efficient sendfile() call if
        the system supports it.  Return the total number of bytes sent."""
        if self._conn is not None:
            return self._sendfile_use_send(file, offset, count)
        return super().sendfile(file, offset, count)

    def recv(self, buflen=1024, flags=0):
        self._checkClosed()
        if self._conn is not None:
            if flags != 0:
                raise ValueError("non-zero flags not allowed in calls to recv() on %s" % self.__class__)
            try:
                return self._read(buflen, None)
            except SSLError as x:
                if x.args[0] == SSL_ERROR_EOF and self.suppress_ragged_eofs:
                    return b""
                raise
        return super().recv(buflen, flags)

    def recv_into(self, buffer, nbytes=None, flags=0):
        self._checkClosed()
        if nbytes is None:
            if buffer is not None:
                with memoryview(buffer) as view:
                    nbytes = view.nbytes
                if not nbytes:
                    nbytes = 1024
            else:
                nbytes = 1024
        if self._conn is not None:
            if flags != 0:
                raise ValueError("non-zero flags not allowed in calls to recv_into() on %s" % self.__class__)
            return self.read(nbytes, buffer)
        return super().recv_into(buffer, nbytes, flags)

    def recvfrom(self, buflen=1024, flags=0):
        self._checkClosed()
        if self._conn is not None:
            raise ValueError("recvfrom not allowed on instances of %s" % self.__class__)
        return super().recvfrom(buflen, flags)

    def recvfrom_into(self, buffer, nbytes=None, flags=0):
        self._checkClosed()
        if self._conn is not None:
            raise ValueError("recvfrom_into not allowed on instances of %s" % self.__class__)
        return super().recvfrom_into(buffer, nbytes, flags)

    def recvmsg(self, *args, **kwargs):
        raise NotImplementedError("recvmsg not allowed on instances of %s" % self.__class__)

    def recvmsg_into(self, *args, **kwargs):
        raise NotImplementedError("recvmsg_into not allowed on instances of %s" % self.__class__)

    def pending(self):
        self._checkClosed()
        if self._conn is not None:
            return _host.tls_pending(self._conn)
        return 0

    def shutdown(self, how):
        self._checkClosed()
        self._free()
        super().shutdown(how)

    def unwrap(self):
        if self._conn is None:
            raise ValueError("No SSL wrapper around " + str(self))
        try:
            self._call(_host.tls_shutdown)
        finally:
            self._free()
        # As CPython: the socket itself, now without TLS.
        return self

    def _real_close(self):
        self._free()
        super()._real_close()

    def __del__(self):
        # A socket dropped without close(): its descriptor is closed by
        # _socket; the host's SSL (which does not own the descriptor) goes too.
        try:
            self._free()
        except Exception:
            pass

    def do_handshake(self, block=False):
        self._check_connected()
        timeout = self.gettimeout()
        try:
            if timeout == 0.0 and block:
                self.settimeout(None)
            self._handshake()
        finally:
            self.settimeout(timeout)

    def _real_connect(self, addr, connect_ex):
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        # Here we assume that the socket is client-side, and not
        # connected at the time of the call.  We connect it, then wrap it.
        if self._connected or self._conn is not None:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        try:
            if connect_ex:
                rc = super().connect_ex(addr)
            else:
                rc = None
                super().connect(addr)
            if not rc:
                self._connected = True
                self._start()
                if self.do_handshake_on_connect:
                    self.do_handshake()
            return rc
        except (OSError, ValueError):
            self._free()
            raise

    def connect(self, addr):
        """Connects to remote ADDR, and then wraps the connection in an SSL channel."""
        self._real_connect(addr, False)

    def connect_ex(self, addr):
        """Connects to remote ADDR, and then wraps the connection in an SSL channel."""
        return self._real_connect(addr, True)

    def accept(self):
        """Accepts a new connection from a remote client, and returns a tuple
        containing that new connection wrapped with a server-side SSL channel,
        and the address of the remote client."""
        newsock, addr = super().accept()
        newsock = self._context.wrap_socket(
            newsock, do_handshake_on_connect=self.do_handshake_on_connect,
            suppress_ragged_eofs=self.suppress_ragged_eofs, server_side=True,
        )
        return newsock, addr


SSLContext.sslsocket_class = SSLSocket
SSLContext.sslobject_class = SSLObject


def wrap_socket(*args, **kwargs):
    raise NotImplementedError("ssl.wrap_socket() was removed in Python 3.12: use SSLContext.wrap_socket()")


# ----------------------------------------------------------------- functions


def cert_time_to_seconds(cert_time):
    """Return the time in seconds since the Epoch, given the timestring
    representing the "notBefore" or "notAfter" date from a certificate
    in ``"%b %d %H:%M:%S %Y %Z"`` strptime format (C locale)."""
    from calendar import timegm

    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    time_format = " %d %H:%M:%S %Y GMT"  # NOTE: no month, fixed GMT
    try:
        month_number = months.index(cert_time[:3].title()) + 1
    except ValueError:
        raise ValueError('time data %r does not match format "%%b%s"' % (cert_time, time_format))
    else:
        # found valid month
        tt = _time.strptime(cert_time[3:], time_format)
        # return an integer, the previous mktime()-based implementation
        # returned a float (fractional seconds are always zero here).
        return timegm((tt[0], month_number) + tt[2:6])


PEM_HEADER = "-----BEGIN CERTIFICATE-----"
PEM_FOOTER = "-----END CERTIFICATE-----"


def DER_cert_to_PEM_cert(der_cert_bytes):
    """Takes a certificate in binary DER format and returns the PEM version of it as a string."""
    f = str(base64.standard_b64encode(der_cert_bytes), "ASCII", "strict")
    ss = [PEM_HEADER]
    ss += [f[i : i + 64] for i in range(0, len(f), 64)]
    ss.append(PEM_FOOTER + "\n")
    return "\n".join(ss)


def PEM_cert_to_DER_cert(pem_cert_string):
    """Takes a certificate in ASCII PEM format and returns the DER-encoded version of it as a byte sequence"""
    if not pem_cert_string.startswith(PEM_HEADER):
        raise ValueError("Invalid PEM encoding; must start with %s" % PEM_HEADER)
    if not pem_cert_string.strip().endswith(PEM_FOOTER):
        raise ValueError("Invalid PEM encoding; must end with %s" % PEM_FOOTER)
    d = pem_cert_string.strip()[len(PEM_HEADER) : -len(PEM_FOOTER)]
    return base64.decodebytes(d.encode("ASCII", "strict"))


def get_server_certificate(addr, ssl_version=PROTOCOL_TLS_CLIENT, ca_certs=None, timeout=_GLOBAL_DEFAULT_TIMEOUT):
    """Retrieve the certificate from the server at the specified address,
    and return it as a PEM-encoded string."""
    host, port = addr
    if ca_certs is not None:
        cert_reqs = CERT_REQUIRED
    else:
        cert_reqs = CERT_NONE
    context = _create_stdlib_context(ssl_version, cert_reqs=cert_reqs, cafile=ca_certs)
    with create_connection(addr, timeout=timeout) as sock:
        with context.wrap_socket(sock, server_hostname=host) as sslsock:
            dercert = sslsock.getpeercert(True)
    return DER_cert_to_PEM_cert(dercert)


def get_protocol_name(protocol_code):
    return _PROTOCOL_NAMES.get(protocol_code, "<unknown>")


def RAND_status():
    return True


def RAND_bytes(n):
    return os.urandom(n)


def RAND_add(string, entropy):
    pass


def _test_decode_cert(path):
    with open(path, "rb") as f:
        der = PEM_cert_to_DER_cert(f.read().decode("ascii"))
    return _cert_dict(_host.tls_decode_der(der))
