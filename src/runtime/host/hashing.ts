// hashlib's OpenSSL half, done by node:crypto (node's own OpenSSL 3): what
// python/nicorn/host/hashing.py calls through `_nicorn_host`. Pyodide builds
// CPython without _hashlib, so hashlib has no pbkdf2_hmac or scrypt and only
// the algorithms CPython carries itself (HACL*); Debian's CPython gets the
// rest from OpenSSL. Key derivation runs here at native speed: Django's
// default PBKDF2 (1,000,000 rounds of sha256) takes ~0.47 s in node, as in
// CPython's OpenSSL, where a WebAssembly loop would take several seconds.
//
// Python hands bytes over as memoryviews (PyProxy of a buffer): read in
// place from the interpreter's heap, never copied to a JS string.

import crypto from 'node:crypto';

/** A Python buffer object as Pyodide hands it to JS (a PyProxy), enough to read its bytes. */
interface PyBufferProxy {
  getBuffer(type?: string): { data: Uint8Array; release(): void };
}

function withBytes<T>(obj: PyBufferProxy, use: (bytes: Uint8Array) => T): T {
  const buf = obj.getBuffer('u8');
  try {
    return use(buf.data);
  } finally {
    buf.release();
  }
}

/** A fresh Uint8Array (not a node Buffer slice of a pool): Pyodide turns it into bytes with to_bytes(). */
function owned(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/**
 * Python's name of every algorithm CPython's hashlib knows under OpenSSL
 * (py_hashes in Modules/_hashopenssl.c, and OpenSSL's long names for the
 * rest, as py_digest_name gives them), with the name OpenSSL fetches it by.
 * Which of them this host has is asked of node (hostAlgorithms), not assumed.
 */
export const OPENSSL_NAMES: Readonly<Record<string, string>> = {
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha512_224: 'sha512-224',
  sha512_256: 'sha512-256',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  shake_128: 'shake128',
  shake_256: 'shake256',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
  'md5-sha1': 'md5-sha1',
  ripemd160: 'ripemd160',
  sm3: 'sm3',
  // Only with OpenSSL's legacy provider (node --openssl-legacy-provider).
  md4: 'md4',
  whirlpool: 'whirlpool',
  mdc2: 'mdc2',
};

/**
 * SHAKE's output length when none is asked for (the XOF's security level):
 * what node used before Node 26 deprecated creating one without it (DEP0198).
 */
const XOF_BYTES: Record<string, number> = { shake128: 16, shake256: 32 };

function createHash(name: string): crypto.Hash {
  const outputLength = XOF_BYTES[name.toLowerCase().replace(/[-_]/g, '')];
  return outputLength ? crypto.createHash(name, { outputLength }) : crypto.createHash(name);
}

function tryHash(name: string): crypto.Hash | null {
  try {
    return createHash(name);
  } catch {
    return null;
  }
}

let fingerprints: Map<string, string> | null = null;

/** The digest of b'' by each algorithm the host has: which algorithm an alias names. */
function knownFingerprints(): Map<string, string> {
  if (!fingerprints) {
    fingerprints = new Map();
    for (const [py, ossl] of Object.entries(OPENSSL_NAMES)) {
      const h = tryHash(ossl);
      if (h) fingerprints.set(h.digest('hex'), py);
    }
  }
  return fingerprints;
}

/** Python's names of the algorithms this host's OpenSSL has (what CPython's algorithms_available lists). */
export function hostAlgorithms(): string[] {
  return [...knownFingerprints().values()].sort();
}

/**
 * Python's name of the algorithm OpenSSL knows as `name` (any of OpenSSL's
 * spellings: 'SHA256', 'sha-256', 'RIPEMD', 'SHA2-512/224'), or undefined (None in
 * Python) when the host has no such algorithm. CPython fetches by name the same way
 * (EVP_MD_fetch); the algorithm is recognised by its digest of b''.
 */
export function canonicalName(name: string): string | undefined {
  const h = tryHash(opensslName(name));
  return h ? knownFingerprints().get(h.digest('hex')) : undefined;
}

function opensslName(name: string): string {
  return OPENSSL_NAMES[name] ?? OPENSSL_NAMES[name.toLowerCase()] ?? name;
}

/** What `_nicorn_host` offers hashing.py. Errors are node's; hashing.py turns them into CPython's. */
export const HASHING = {
  hash_algorithms: (): string[] => hostAlgorithms(),
  hash_canonical_name: (name: string): string | undefined => canonicalName(name),
  hash_new: (name: string): crypto.Hash => createHash(opensslName(name)),
  hash_update: (h: crypto.Hash, data: PyBufferProxy): void => {
    withBytes(data, (bytes) => h.update(bytes));
  },
  hash_digest: (h: crypto.Hash): Uint8Array => owned(h.copy().digest()),
  hash_copy: (h: crypto.Hash): crypto.Hash => h.copy(),
  pbkdf2_hmac: (name: string, password: PyBufferProxy, salt: PyBufferProxy, iterations: number, dklen: number): Uint8Array =>
    withBytes(password, (pw) => withBytes(salt, (s) => owned(crypto.pbkdf2Sync(pw, s, iterations, dklen, opensslName(name))))),
  /** hashing.py has checked n, r, p >= 1 (node would take 0 as its default) and maxmem. */
  scrypt: (password: PyBufferProxy, salt: PyBufferProxy, n: number, r: number, p: number, maxmem: number, dklen: number): Uint8Array =>
    withBytes(password, (pw) =>
      withBytes(salt, (s) =>
        // maxmem 0 is OpenSSL's default, 32 MiB, in CPython as in node.
        owned(crypto.scryptSync(pw, s, dklen, { N: n, r, p, maxmem: maxmem || 32 * 1024 * 1024 })),
      ),
    ),
};
