"""hashlib as CPython with OpenSSL has it, on the host's crypto.

Pyodide's CPython has no _hashlib (OpenSSL): hashlib lacks pbkdf2_hmac and
scrypt (Werkzeug's and Django's default password hashers) and the algorithms
only OpenSSL provides (ripemd160, sm3, sha512_224, md5-sha1, ...). They are
computed by node:crypto (src/runtime/host/hashing.ts) with the argument
checks and exceptions of CPython 3.14's Modules/_hashopenssl.c.

The algorithms CPython carries itself (md5, sha1, sha2, sha3, blake2) keep
their built-in (HACL*) objects: in WebAssembly they hash small inputs faster
than a call out to node would, and CPython prefers its own blake2 too.
hmac needs nothing of its own: for a name its built-in HMAC does not know it
falls back to hashlib.new(), which finds the host's algorithms.
"""

import operator

import _nicorn_host

from ._on_import import when_imported

# The hashlib module, once the app imports it (install()).
hashlib = None

_INT_MAX = 2**31 - 1
# OpenSSL's default scrypt memory limit (maxmem=0), as in CPython's docs.
_SCRYPT_MAXMEM_DEFAULT = 32 * 1024 * 1024


class UnsupportedDigestmodError(ValueError):
    """_hashlib.UnsupportedDigestmodError: the host's OpenSSL has no such digest."""


def _unsupported(name):
    return UnsupportedDigestmodError(
        f"[digital envelope routines] unsupported hash type {name}")


def _view(obj, *, hashing=False):
    """A bytes-like object as a flat byte view, with CPython's TypeError
    otherwise (a hash object's own wording for str when `hashing`)."""
    if hashing and isinstance(obj, str):
        raise TypeError("Strings must be encoded before hashing")
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(
            f"a bytes-like object is required, not '{type(obj).__name__}'") from None
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


# (digest_size, block_size) of the algorithms only the host has
# (EVP_MD_get_size, EVP_MD_get_block_size): node:crypto does not report block
# sizes, which hmac needs, and asking node for a digest size costs a call.
_SIZES = {
    "md5-sha1": (36, 64), "ripemd160": (20, 64), "sm3": (32, 64),
    "sha512_224": (28, 128), "sha512_256": (32, 128), "md4": (16, 64),
    "whirlpool": (64, 64), "mdc2": (16, 8),
}


class HASH:
    """A hash object computed by the host's OpenSSL (_hashlib.HASH)."""

    __slots__ = ("_h", "name", "digest_size", "block_size")

    def __init__(self, name, handle):
        self._h = handle
        self.name = name
        self.digest_size, self.block_size = _SIZES[name]

    def update(self, obj, /):
        _nicorn_host.hash_update(self._h, _view(obj, hashing=True))

    def digest(self):
        return _nicorn_host.hash_digest(self._h).to_bytes()

    def hexdigest(self):
        return self.digest().hex()

    def copy(self):
        other = HASH.__new__(HASH)
        other._h = _nicorn_host.hash_copy(self._h)
        other.name, other.digest_size, other.block_size = self.name, self.digest_size, self.block_size
        return other

    def __repr__(self):
        return f"<{self.name} _hashlib.HASH object @ {hex(id(self))}>"


def _host_new(name, data=b"", *, usedforsecurity=True, string=None):
    if string is not None:
        if data != b"":
            raise TypeError("'data' and 'string' are mutually exclusive and "
                            "support for 'string' keyword parameter is slated "
                            "for removal in a future version.")
        data = string
    h = HASH(name, _nicorn_host.hash_new(name))
    if data:
        h.update(data)
    return h


def _make_new(builtin_new):
    def new(name, *args, **kwargs):
        """new(name, data=b'', **kwargs) - Return a new hashing object using the
        named algorithm; optionally initialized with data (which must be
        a bytes-like object).
        """
        try:
            return builtin_new(name, *args, **kwargs)
        except ValueError:
            # Not a built-in name: OpenSSL's, as _hashlib.new would fetch it.
            if not isinstance(name, str):
                raise
            canonical = _nicorn_host.hash_canonical_name(name)
            if canonical is None:
                raise
        if canonical in hashlib.algorithms_guaranteed:
            # An OpenSSL spelling ('SHA256', 'sha-256') of a built-in algorithm.
            return builtin_new(canonical, *args, **kwargs)
        return _host_new(canonical, *args, **kwargs)

    new.__wrapped__ = builtin_new
    return new


def pbkdf2_hmac(hash_name, password, salt, iterations, dklen=None):
    """Password based key derivation function 2 (PKCS #5 v2.0) with HMAC as pseudorandom function."""
    if not isinstance(hash_name, str):
        raise TypeError(f"pbkdf2_hmac() argument 'hash_name' must be str, not {type(hash_name).__name__}")
    password, salt = _view(password), _view(salt)
    iterations = operator.index(iterations)
    if dklen is not None:
        dklen = operator.index(dklen)
    canonical = _nicorn_host.hash_canonical_name(hash_name)
    if canonical is None or canonical.startswith("shake_"):
        raise _unsupported(hash_name)
    if password.nbytes > _INT_MAX:
        raise OverflowError("password is too long.")
    if salt.nbytes > _INT_MAX:
        raise OverflowError("salt is too long.")
    if iterations < 1:
        raise ValueError("iteration value must be greater than 0.")
    if iterations > _INT_MAX:
        raise OverflowError("iteration value is too great.")
    if dklen is None:
        dklen = hashlib.new(canonical).digest_size
    if dklen < 1:
        raise ValueError("key length must be greater than 0.")
    if dklen > _INT_MAX:
        raise OverflowError("key length is too great.")
    return _nicorn_host.pbkdf2_hmac(canonical, password, salt, iterations, dklen).to_bytes()


def _unsigned_long(value):
    """Argument Clinic's unsigned_long converter (_PyLong_UnsignedLong_Converter)."""
    value = operator.index(value)
    if value < 0:
        raise ValueError("Cannot convert negative int")
    if value >= 2**64:
        raise OverflowError("Python int too large for C unsigned long")
    return value


def scrypt(password, *, salt, n, r, p, maxmem=0, dklen=64):
    """scrypt password-based key derivation function."""
    password, salt = _view(password), _view(salt)
    n, r, p = _unsigned_long(n), _unsigned_long(r), _unsigned_long(p)
    maxmem, dklen = operator.index(maxmem), operator.index(dklen)
    if password.nbytes > _INT_MAX:
        raise OverflowError("password is too long.")
    if salt.nbytes > _INT_MAX:
        raise OverflowError("salt is too long.")
    if n < 2 or n & (n - 1):
        raise ValueError("n must be a power of 2.")
    if maxmem < 0 or maxmem > _INT_MAX:
        raise ValueError(f"maxmem must be positive and smaller than {_INT_MAX}")
    if dklen < 1 or dklen > _INT_MAX:
        raise ValueError(f"dklen must be greater than 0 and smaller than {_INT_MAX}")
    # EVP_PBE_scrypt's own checks (OpenSSL 3.0 providers/implementations/
    # kdfs/scrypt.c), with the messages CPython passes on, before node sees
    # the numbers: node would take r=0 or p=0 for its defaults, and refuses
    # n >= 2**32 with a RangeError of its own.
    if r < 1 or p < 1:
        raise ValueError("Invalid parameter combination for n, r, p, maxmem.")
    if r > 0xFFFFFFFF or p > 0xFFFFFFFF:
        raise ValueError("[digital envelope routines] parameter too large")
    if (r * p >= 2**30 or (16 * r <= 63 and n >= 1 << (16 * r))
            or 128 * r * p + 128 * r * (n + 2) > (maxmem or _SCRYPT_MAXMEM_DEFAULT)):
        raise ValueError("[digital envelope routines] memory limit exceeded")
    try:
        key = _nicorn_host.scrypt(password, salt, n, r, p, maxmem, dklen)
    except Exception as e:  # a JsException: OpenSSL refused what we let through
        raise ValueError(f"Invalid parameter combination for n, r, p, maxmem. ({e})") from None
    return key.to_bytes()


def _mend_hashlib(module):
    global hashlib
    hashlib = module
    if hasattr(module.new, "__wrapped__"):
        return
    module.new = _make_new(module.new)
    module.algorithms_available = set(module.algorithms_available) | set(_nicorn_host.hash_algorithms())
    module.pbkdf2_hmac = pbkdf2_hmac
    module.scrypt = scrypt
    if "pbkdf2_hmac" not in module.__all__:
        module.__all__ += ("pbkdf2_hmac",)


def install():
    when_imported("hashlib", _mend_hashlib)
