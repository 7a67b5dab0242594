"""The rules --check-wsgi checks: one id, one line, the section that says so.

`wsgiref` tells whether the standard library's wsgiref.validate catches the
same mistake (test/e2e/check-wsgi.test.ts runs both on fixtures/wsgicheck).
`advice` marks what the server must do and does (drop a HEAD response's body:
RFC 9110 puts it on the server; Django leaves it to the server, Gunicorn 26
warns): reported, but not a violation, so it does not change the exit status.
"""

from typing import NamedTuple


class Rule(NamedTuple):
    id: str
    explanation: str
    cites: str
    wsgiref: bool
    advice: bool = False


RULES = {r.id: r for r in (
    # environ and the input/error streams
    Rule("environ.server-key-changed",
         "the app changed or removed a wsgi.* key that describes the server",
         "PEP 3333 §environ Variables", False),
    Rule("input.read-past-length",
         "wsgi.input was asked for more than CONTENT_LENGTH has left, in an environ without wsgi.input_terminated",
         "PEP 3333 §Input and Error Streams, note 1", False),
    Rule("input.readline-args",
         "readline()/readlines() take at most one argument, an int",
         "PEP 3333 §Input and Error Streams, notes 3-4", True),
    Rule("input.close",
         "wsgi.input.close() is not part of the interface and must not be called",
         "PEP 3333 §Input and Error Streams", True),
    Rule("errors.not-str",
         "wsgi.errors is a text stream: write() takes a str",
         "PEP 3333 §Input and Error Streams", True),
    Rule("errors.close",
         "wsgi.errors.close() is not part of the interface and must not be called",
         "PEP 3333 §Input and Error Streams", True),
    # start_response
    Rule("start_response.args",
         "start_response takes (status, response_headers[, exc_info]) positionally",
         "PEP 3333 §The start_response() Callable", True),
    Rule("start_response.twice",
         "start_response was called a second time without exc_info",
         "PEP 3333 §The start_response() Callable", False),
    Rule("start_response.exc-info-type",
         "exc_info must be None or a sys.exc_info() tuple",
         "PEP 3333 §The start_response() Callable", True),
    Rule("start_response.exc-info-trapped",
         "the app caught the exception start_response re-raised for exc_info after the headers left",
         "PEP 3333 §Error Handling", False),
    Rule("start_response.missing",
         "body bytes came (or the app ended) before start_response was called",
         "PEP 3333 §The start_response() Callable", True),
    Rule("status.not-str",
         "the status must be a str",
         "PEP 3333 §The start_response() Callable", True),
    Rule("status.format",
         "the status must be a 3-digit code, one space and a reason phrase, no control characters",
         "PEP 3333 §The start_response() Callable; RFC 9112 §4", True),
    Rule("headers.not-list-of-tuples",
         "response_headers must be a list of (name, value) tuples of str",
         "PEP 3333 §The start_response() Callable", True),
    Rule("headers.bad-name",
         "a header name must be an RFC 9110 token and not 'Status'",
         "RFC 9110 §5.1; PEP 3333 §The start_response() Callable", True),
    Rule("headers.bad-value",
         "a header value must not hold control characters (CR, LF, NUL) or characters beyond latin-1",
         "RFC 9110 §5.5; PEP 3333 §The start_response() Callable", True),
    Rule("headers.hop-by-hop",
         "hop-by-hop headers (Connection, Transfer-Encoding, ...) are the server's to send",
         "PEP 3333 §Other HTTP Features; RFC 9110 §7.6.1", False),
    Rule("headers.duplicate",
         "Content-Length or Content-Type was given more than once",
         "RFC 9110 §5.3, §8.3, §8.6", False),
    Rule("headers.content-length-invalid",
         "Content-Length must be a non-negative decimal integer",
         "RFC 9110 §8.6", False),
    Rule("headers.content-length-forbidden",
         "a 1xx or 204 response must not carry Content-Length",
         "RFC 9110 §8.6", False),
    Rule("headers.content-type-missing",
         "a response with content should say its Content-Type",
         "RFC 9110 §8.3", True),
    Rule("headers.content-type-without-content",
         "a 204 or 304 response has no content to describe with Content-Type",
         "RFC 9110 §15.3.5, §15.4.5", True),
    Rule("headers.location-invalid",
         "Location must be a URI reference (no spaces, controls or raw non-ASCII)",
         "RFC 9110 §10.2.2; RFC 3986 §4.1", False),
    # the iterable and write()
    Rule("iterable.none",
         "the app must return an iterable, if only an empty list",
         "PEP 3333 §Specification Details", True),
    Rule("iterable.str-or-bytes",
         "the app returned a str or bytes itself instead of an iterable of bytes",
         "PEP 3333 §Buffering and Streaming", True),
    Rule("body.not-bytes",
         "the iterable must yield bytes only",
         "PEP 3333 §Unicode Issues", True),
    Rule("write.not-bytes",
         "write() takes bytes only",
         "PEP 3333 §The write() Callable", True),
    Rule("iterable.close-raised",
         "the iterable's close() raised: cleanup it guards did not complete",
         "PEP 3333 §Specification Details", False),
    Rule("file_wrapper.not-file",
         "wsgi.file_wrapper needs a file-like object with read()",
         "PEP 3333 §Optional Platform-Specific File Handling", False),
    # the answer
    Rule("response.body-on-head",
         "a response to HEAD must not have content; the server drops it",
         "RFC 9110 §9.3.2", False, advice=True),
    Rule("response.body-on-no-content",
         "1xx, 204 and 304 responses have no content",
         "RFC 9110 §6.4.1, §15.3.5, §15.4.5", False),
    Rule("response.content-length-mismatch",
         "the body's length differs from its Content-Length",
         "RFC 9110 §8.6; RFC 9112 §6.3", False),
)}
