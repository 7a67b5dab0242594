// OpenSSL 3.0 as Node links it: Node exports libssl's and libcrypto's
// symbols from its own binary, so koffi.load(null) reaches them without a
// second OpenSSL on the host. Pyodide's own OpenSSL package cannot be used
// (a WebAssembly OpenSSL would need the sockets inside the interpreter; the
// sockets are host descriptors), so TLS for the app runs here, on the host
// descriptor behind the app's socket.
//
// Only declarations live here; src/runtime/host/tls.ts uses them.

import koffi, { type LibraryHandle } from 'koffi';

/** An opaque C pointer as koffi returns it (null when the C side returned NULL). */
export type Ptr = unknown;

let node: LibraryHandle | null = null;

function f(decl: string, result?: string, args?: string[]): (...args: never[]) => unknown {
  node ??= koffi.load(null);
  return (result === undefined ? node.func(decl) : node.func(decl, result, args!)) as (...args: never[]) => unknown;
}

function decls() {
  return {
    OpenSSL_version: f('const char *OpenSSL_version(int t)') as (t: number) => string,
    OpenSSL_version_num: f('unsigned long OpenSSL_version_num(void)') as () => number,
    X509_get_default_cert_file: f('const char *X509_get_default_cert_file(void)') as () => string,
    X509_get_default_cert_dir: f('const char *X509_get_default_cert_dir(void)') as () => string,

    TLS_method: f('void *TLS_method(void)') as () => Ptr,
    TLS_client_method: f('void *TLS_client_method(void)') as () => Ptr,
    TLS_server_method: f('void *TLS_server_method(void)') as () => Ptr,
    SSL_CTX_new: f('void *SSL_CTX_new(void *method)') as (m: Ptr) => Ptr,
    SSL_CTX_free: f('void SSL_CTX_free(void *ctx)') as (c: Ptr) => void,
    SSL_CTX_set_options: f('uint64_t SSL_CTX_set_options(void *ctx, uint64_t op)') as (c: Ptr, o: bigint) => bigint,
    SSL_CTX_clear_options: f('uint64_t SSL_CTX_clear_options(void *ctx, uint64_t op)') as (c: Ptr, o: bigint) => bigint,
    SSL_CTX_get_options: f('uint64_t SSL_CTX_get_options(void *ctx)') as (c: Ptr) => bigint,
    SSL_CTX_ctrl: f('long SSL_CTX_ctrl(void *ctx, int cmd, long larg, void *parg)') as (c: Ptr, cmd: number, l: number, p: Ptr) => number,
    SSL_CTX_set_verify: f('void SSL_CTX_set_verify(void *ctx, int mode, void *cb)') as (c: Ptr, m: number, cb: null) => void,
    SSL_CTX_get_verify_mode: f('int SSL_CTX_get_verify_mode(void *ctx)') as (c: Ptr) => number,
    SSL_CTX_get0_param: f('void *SSL_CTX_get0_param(void *ctx)') as (c: Ptr) => Ptr,
    SSL_CTX_load_verify_locations: f('int SSL_CTX_load_verify_locations(void *ctx, const char *file, const char *dir)') as (
      c: Ptr,
      file: string | null,
      dir: string | null,
    ) => number,
    SSL_CTX_get_cert_store: f('void *SSL_CTX_get_cert_store(void *ctx)') as (c: Ptr) => Ptr,
    SSL_CTX_use_certificate_chain_file: f('int SSL_CTX_use_certificate_chain_file(void *ctx, const char *file)') as (c: Ptr, file: string) => number,
    SSL_CTX_use_PrivateKey_file: f('int SSL_CTX_use_PrivateKey_file(void *ctx, const char *file, int type)') as (c: Ptr, file: string, t: number) => number,
    SSL_CTX_check_private_key: f('int SSL_CTX_check_private_key(void *ctx)') as (c: Ptr) => number,
    SSL_CTX_set_default_passwd_cb_userdata: f('void SSL_CTX_set_default_passwd_cb_userdata(void *ctx, void *u)') as (c: Ptr, u: Buffer | null) => void,
    SSL_CTX_set_cipher_list: f('int SSL_CTX_set_cipher_list(void *ctx, const char *str)') as (c: Ptr, s: string) => number,
    SSL_CTX_set_alpn_protos: f('int SSL_CTX_set_alpn_protos(void *ctx, const uint8_t *protos, unsigned int len)') as (c: Ptr, p: Buffer, n: number) => number,
    SSL_CTX_set_post_handshake_auth: f('void SSL_CTX_set_post_handshake_auth(void *ctx, int val)') as (c: Ptr, v: number) => void,
    SSL_CTX_get_security_level: f('int SSL_CTX_get_security_level(void *ctx)') as (c: Ptr) => number,

    X509_VERIFY_PARAM_set_flags: f('int X509_VERIFY_PARAM_set_flags(void *param, unsigned long flags)') as (p: Ptr, fl: number) => number,
    X509_VERIFY_PARAM_clear_flags: f('int X509_VERIFY_PARAM_clear_flags(void *param, unsigned long flags)') as (p: Ptr, fl: number) => number,
    X509_VERIFY_PARAM_get_flags: f('unsigned long X509_VERIFY_PARAM_get_flags(void *param)') as (p: Ptr) => number,
    X509_VERIFY_PARAM_set_hostflags: f('void X509_VERIFY_PARAM_set_hostflags(void *param, unsigned int flags)') as (p: Ptr, fl: number) => void,
    X509_VERIFY_PARAM_set1_ip_asc: f('int X509_VERIFY_PARAM_set1_ip_asc(void *param, const char *ip)') as (p: Ptr, ip: string) => number,
    X509_STORE_add_cert: f('int X509_STORE_add_cert(void *store, void *x)') as (s: Ptr, x: Ptr) => number,
    X509_STORE_get0_objects: f('void *X509_STORE_get0_objects(void *store)') as (s: Ptr) => Ptr,
    X509_OBJECT_get_type: f('int X509_OBJECT_get_type(void *obj)') as (o: Ptr) => number,
    X509_OBJECT_get0_X509: f('void *X509_OBJECT_get0_X509(void *obj)') as (o: Ptr) => Ptr,
    X509_check_ca: f('int X509_check_ca(void *x)') as (x: Ptr) => number,

    SSL_new: f('void *SSL_new(void *ctx)') as (c: Ptr) => Ptr,
    SSL_free: f('void SSL_free(void *ssl)') as (s: Ptr) => void,
    SSL_set_fd: f('int SSL_set_fd(void *ssl, int fd)') as (s: Ptr, fd: number) => number,
    SSL_set_connect_state: f('void SSL_set_connect_state(void *ssl)') as (s: Ptr) => void,
    SSL_set_accept_state: f('void SSL_set_accept_state(void *ssl)') as (s: Ptr) => void,
    SSL_ctrl_str: f('SSL_ctrl', 'long', ['void *', 'int', 'long', 'const char *']) as never as (s: Ptr, cmd: number, l: number, p: string) => number,
    SSL_set1_host: f('int SSL_set1_host(void *ssl, const char *host)') as (s: Ptr, h: string) => number,
    SSL_get0_param: f('void *SSL_get0_param(void *ssl)') as (s: Ptr) => Ptr,
    SSL_do_handshake: f('int SSL_do_handshake(void *ssl)') as (s: Ptr) => number,
    SSL_read: f('int SSL_read(void *ssl, _Out_ uint8_t *buf, int num)') as (s: Ptr, b: Uint8Array, n: number) => number,
    SSL_write: f('int SSL_write(void *ssl, const uint8_t *buf, int num)') as (s: Ptr, b: Uint8Array, n: number) => number,
    SSL_pending: f('int SSL_pending(void *ssl)') as (s: Ptr) => number,
    SSL_shutdown: f('int SSL_shutdown(void *ssl)') as (s: Ptr) => number,
    SSL_get_shutdown: f('int SSL_get_shutdown(void *ssl)') as (s: Ptr) => number,
    SSL_get_error: f('int SSL_get_error(void *ssl, int ret)') as (s: Ptr, r: number) => number,
    SSL_get_verify_result: f('long SSL_get_verify_result(void *ssl)') as (s: Ptr) => number,
    SSL_get1_peer_certificate: f('void *SSL_get1_peer_certificate(void *ssl)') as (s: Ptr) => Ptr,
    SSL_get_version: f('const char *SSL_get_version(void *ssl)') as (s: Ptr) => string,
    SSL_get_current_cipher: f('void *SSL_get_current_cipher(void *ssl)') as (s: Ptr) => Ptr,
    SSL_CIPHER_get_name: f('const char *SSL_CIPHER_get_name(void *c)') as (c: Ptr) => string,
    SSL_CIPHER_get_version: f('const char *SSL_CIPHER_get_version(void *c)') as (c: Ptr) => string,
    SSL_CIPHER_get_bits: f('int SSL_CIPHER_get_bits(void *c, void *alg_bits)') as (c: Ptr, a: null) => number,
    SSL_get0_alpn_selected: f('void SSL_get0_alpn_selected(void *ssl, _Out_ void **data, _Out_ unsigned int *len)') as (
      s: Ptr,
      d: [Ptr],
      n: [number],
    ) => void,
    SSL_get_servername: f('const char *SSL_get_servername(void *ssl, int type)') as (s: Ptr, t: number) => string | null,

    ERR_get_error: f('unsigned long ERR_get_error(void)') as () => number,
    ERR_peek_last_error: f('unsigned long ERR_peek_last_error(void)') as () => number,
    ERR_clear_error: f('void ERR_clear_error(void)') as () => void,
    ERR_reason_error_string: f('const char *ERR_reason_error_string(unsigned long e)') as (e: number) => string | null,
    ERR_lib_error_string: f('const char *ERR_lib_error_string(unsigned long e)') as (e: number) => string | null,
    X509_verify_cert_error_string: f('const char *X509_verify_cert_error_string(long n)') as (n: number) => string,

    BIO_s_mem: f('void *BIO_s_mem(void)') as () => Ptr,
    BIO_new: f('void *BIO_new(void *type)') as (t: Ptr) => Ptr,
    BIO_new_mem_buf: f('void *BIO_new_mem_buf(const uint8_t *buf, int len)') as (b: Buffer, n: number) => Ptr,
    BIO_free: f('int BIO_free(void *bio)') as (b: Ptr) => number,
    BIO_up_ref: f('int BIO_up_ref(void *bio)') as (b: Ptr) => number,
    BIO_write: f('int BIO_write(void *bio, const uint8_t *buf, int len)') as (b: Ptr, buf: Uint8Array, n: number) => number,
    BIO_read_into: f('BIO_read', 'int', ['void *', 'uint8_t *', 'int']) as never as (b: Ptr, buf: Uint8Array, n: number) => number,
    BIO_ctrl: f('long BIO_ctrl(void *bio, int cmd, long larg, void *parg)') as (b: Ptr, cmd: number, l: number, p: null) => number,
    SSL_set_bio: f('void SSL_set_bio(void *ssl, void *rbio, void *wbio)') as (s: Ptr, r: Ptr, w: Ptr) => void,
    BIO_read: f('int BIO_read(void *bio, _Out_ uint8_t *buf, int len)') as (b: Ptr, buf: Buffer, n: number) => number,
    BIO_ctrl_pending: f('size_t BIO_ctrl_pending(void *bio)') as (b: Ptr) => number,
    PEM_read_bio_X509: f('void *PEM_read_bio_X509(void *bio, void *x, void *cb, void *u)') as (b: Ptr, x: null, cb: null, u: null) => Ptr,
    d2i_X509_bio: f('void *d2i_X509_bio(void *bio, void *x)') as (b: Ptr, x: null) => Ptr,
    i2d_X509_bio: f('int i2d_X509_bio(void *bio, void *x)') as (b: Ptr, x: Ptr) => number,
    X509_free: f('void X509_free(void *x)') as (x: Ptr) => void,
    X509_get_version: f('long X509_get_version(void *x)') as (x: Ptr) => number,
    X509_get_subject_name: f('void *X509_get_subject_name(void *x)') as (x: Ptr) => Ptr,
    X509_get_issuer_name: f('void *X509_get_issuer_name(void *x)') as (x: Ptr) => Ptr,
    X509_get_serialNumber: f('void *X509_get_serialNumber(void *x)') as (x: Ptr) => Ptr,
    X509_get0_notBefore: f('void *X509_get0_notBefore(void *x)') as (x: Ptr) => Ptr,
    X509_get0_notAfter: f('void *X509_get0_notAfter(void *x)') as (x: Ptr) => Ptr,
    X509_get_ext_d2i: f('void *X509_get_ext_d2i(void *x, int nid, void *crit, void *idx)') as (x: Ptr, nid: number, c: null, i: null) => Ptr,
    i2a_ASN1_INTEGER: f('int i2a_ASN1_INTEGER(void *bio, void *a)') as (b: Ptr, a: Ptr) => number,
    ASN1_TIME_print: f('int ASN1_TIME_print(void *bio, void *t)') as (b: Ptr, t: Ptr) => number,
    X509_NAME_entry_count: f('int X509_NAME_entry_count(void *name)') as (n: Ptr) => number,
    X509_NAME_get_entry: f('void *X509_NAME_get_entry(void *name, int loc)') as (n: Ptr, i: number) => Ptr,
    X509_NAME_ENTRY_set: f('int X509_NAME_ENTRY_set(void *ne)') as (e: Ptr) => number,
    X509_NAME_ENTRY_get_object: f('void *X509_NAME_ENTRY_get_object(void *ne)') as (e: Ptr) => Ptr,
    X509_NAME_ENTRY_get_data: f('void *X509_NAME_ENTRY_get_data(void *ne)') as (e: Ptr) => Ptr,
    OBJ_obj2txt: f('int OBJ_obj2txt(_Out_ uint8_t *buf, int len, void *obj, int no_name)') as (b: Buffer, n: number, o: Ptr, nn: number) => number,
    OBJ_obj2nid: f('int OBJ_obj2nid(void *obj)') as (o: Ptr) => number,
    ASN1_STRING_to_UTF8: f('int ASN1_STRING_to_UTF8(_Out_ void **out, void *in)') as (o: [Ptr], s: Ptr) => number,
    ASN1_STRING_get0_data: f('void *ASN1_STRING_get0_data(void *s)') as (s: Ptr) => Ptr,
    ASN1_STRING_length: f('int ASN1_STRING_length(void *s)') as (s: Ptr) => number,
    CRYPTO_free: f('void CRYPTO_free(void *p, const char *file, int line)') as (p: Ptr, file: string, line: number) => void,
    OPENSSL_sk_num: f('int OPENSSL_sk_num(void *sk)') as (sk: Ptr) => number,
    OPENSSL_sk_value: f('void *OPENSSL_sk_value(void *sk, int i)') as (sk: Ptr, i: number) => Ptr,
    GENERAL_NAMES_free: f('void GENERAL_NAMES_free(void *names)') as (n: Ptr) => void,
    AUTHORITY_INFO_ACCESS_free: f('void AUTHORITY_INFO_ACCESS_free(void *a)') as (a: Ptr) => void,
    CRL_DIST_POINTS_free: f('void CRL_DIST_POINTS_free(void *a)') as (a: Ptr) => void,
  };
}

export type OpenSSL = ReturnType<typeof decls>;

let api: OpenSSL | null = null;

/** Node's OpenSSL, declared on first use (per thread). */
export function openssl(): OpenSSL {
  api ??= decls();
  return api;
}

/** Reads a C pointer-sized value or int at `offset` bytes from `ptr`. */
export function peekPtr(ptr: Ptr, offset: number): Ptr {
  return koffi.decode(ptr, offset, 'void *');
}
export function peekInt(ptr: Ptr, offset: number): number {
  return koffi.decode(ptr, offset, 'int') as number;
}
/** A copy of `len` bytes at `ptr`. */
export function bytesAt(ptr: Ptr, len: number): Buffer {
  return len <= 0 ? Buffer.alloc(0) : Buffer.from(koffi.view(ptr, len).slice(0));
}
