// Spreading kept-alive connections over the workers.
//
// Every worker accepts on the one listening socket the arbiter bound, and
// node accepts in a loop until the backlog is empty. A burst of connects (a
// client's pool opening, an upstream keepalive pool filling, wrk -c20) can
// so be taken whole by the worker whose I/O thread wakes first, and a
// kept-alive connection stays where it landed. Measured with Flask, -w 2 on
// 2 cores, 45 starts of `wrk -t1 -c20` (ss -tnp per worker): 20/0 twice,
// 19/1 once; a 20/0 start served 2,164 req/s where the others served
// 2,733-3,668, and one forced 20/0 (the other worker stopped while wrk
// connected) stayed 20/0 for the whole run.
// Gunicorn's sync worker never meets this: it closes every connection.
//
// A worker whose interpreters have requests waiting (it holds more
// connections than it can serve at once) answers one of them, now and then,
// with `Connection: close`; the client's next connect is accepted by
// whichever worker is free to take it first. Once the load is spread, every
// saturated worker still sheds at this pace: 20 reconnects a second, at the
// ~250 us a new connection costs (the bench's close rows), about 0.5% of a
// core. A worker without a backlog never sheds, so a light load keeps its
// connections.

/** Requests waiting behind the ones being served before the worker counts as over its share. */
const SHED_BACKLOG = 2;
/** At most one connection shed per this many ms, per worker. */
const SHED_INTERVAL_MS = 50;

export interface KeepAliveSpread {
  /**
   * Whether this response should close a connection that would stay open.
   * Asked only for a connection with nothing else of its own waiting (no
   * pipelined request is cut off); a yes counts as the interval's shed.
   */
  shed(now?: number): boolean;
}

/** The spread of one worker; `backlog` says how many requests wait for its interpreters. */
export function keepAliveSpread(backlog: () => number): KeepAliveSpread {
  let last = -Infinity;
  return {
    shed(now = performance.now()) {
      if (now - last < SHED_INTERVAL_MS || backlog() < SHED_BACKLOG) return false;
      last = now;
      return true;
    },
  };
}
