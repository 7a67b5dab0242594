// Which peers --forwarded-allow-ips and --proxy-allow-from trust. Gunicorn
// (24.1+) turns each entry into ipaddress.ip_network(entry) once and asks
// `ip_address(peer) in network` per request; '*' trusts everyone. The address
// grammar here is Python's ipaddress one (which for plain addresses is also
// glibc's inet_pton one), so the validator, the allow list and the PROXY
// protocol parser agree on what an address is.
//
// One difference on purpose: an IPv4 address and its IPv4-mapped IPv6 form
// (::ffff:a.b.c.d) are the same peer here. Node reports IPv4 peers of a
// dual-stack socket in the mapped form, and Gunicorn's peers on its IPv4
// sockets are plain IPv4, so '127.0.0.1' has to match both.

/** Python's strict dotted quad (no leading zeros, four octets); the address as a uint32, or null. */
export function parseIPv4(s: string): number | null {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && octet === 0) return null;
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return null;
      digits++;
    } else if (c === 0x2e) {
      if (digits === 0 || dots === 3) return null;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return null;
    }
  }
  if (digits === 0 || dots !== 3) return null;
  return value * 256 + octet;
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/**
 * Python's IPv6 grammar without a scope id (the same as inet_pton's): eight
 * hextets, one '::' standing for at least one zero hextet, an optional dotted
 * IPv4 tail. The eight hextets, or null.
 */
export function parseIPv6(s: string): number[] | null {
  const parts = s.split(':');
  if (parts.length < 3) return null;
  const last = parts[parts.length - 1]!;
  if (last.includes('.')) {
    const v4 = parseIPv4(last);
    if (v4 === null) return null;
    parts.pop();
    parts.push((v4 >>> 16).toString(16), (v4 & 0xffff).toString(16));
  }
  if (parts.length > 9) return null;
  let skip = -1;
  for (let i = 1; i < parts.length - 1; i++) {
    if (parts[i] === '') {
      if (skip !== -1) return null;
      skip = i;
    }
  }
  let hi: number;
  let lo: number;
  if (skip !== -1) {
    hi = skip;
    lo = parts.length - skip - 1;
    if (parts[0] === '' && --hi !== 0) return null;
    if (parts[parts.length - 1] === '' && --lo !== 0) return null;
    if (8 - (hi + lo) < 1) return null;
  } else {
    if (parts.length !== 8) return null;
    hi = 8;
    lo = 0;
  }
  const out = new Array<number>(8).fill(0);
  for (let i = 0; i < hi; i++) {
    if (!HEXTET.test(parts[i]!)) return null;
    out[i] = parseInt(parts[i]!, 16);
  }
  for (let i = 0; i < lo; i++) {
    const p = parts[parts.length - lo + i]!;
    if (!HEXTET.test(p)) return null;
    out[8 - lo + i] = parseInt(p, 16);
  }
  return out;
}

/**
 * The text form of eight hextets: lowercase, no leading zeros, the first
 * longest run of two or more zero hextets as '::'. With `dottedV4`, glibc's
 * inet_ntop (which Python's socket.inet_ntop calls) writes ::a.b.c.d and
 * ::ffff:a.b.c.d with a dotted tail; Python's ipaddress str() does not.
 */
export function formatIPv6(h: readonly number[], dottedV4 = false): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (h[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && h[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) best = -1;
  if (dottedV4 && best === 0 && (bestLen === 6 || (bestLen === 5 && h[5] === 0xffff))) {
    const v4 = `${h[6]! >>> 8}.${h[6]! & 0xff}.${h[7]! >>> 8}.${h[7]! & 0xff}`;
    return bestLen === 6 ? `::${v4}` : `::ffff:${v4}`;
  }
  if (best === -1) return h.map((x) => x.toString(16)).join(':');
  const head = h.slice(0, best).map((x) => x.toString(16)).join(':');
  const tail = h.slice(best + bestLen).map((x) => x.toString(16)).join(':');
  return `${head}::${tail}`;
}

export const formatIPv4 = (v: number): string => `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;

/** An address or network in IPv6 space (IPv4 as ::ffff:a.b.c.d/96+n): four big-endian words and a prefix length. */
export interface Network {
  readonly words: readonly [number, number, number, number];
  readonly prefix: number;
}

/**
 * ipaddress.ip_network(text) (strict): a network, 'host-bits' with the
 * network's str() when bits past the prefix are set (Python's
 * "X has host bits set"), or 'invalid' ("does not appear to be an IPv4 or
 * IPv6 network").
 */
export type NetworkParse = { kind: 'network'; network: Network } | { kind: 'host-bits'; text: string } | { kind: 'invalid' };

const DIGITS = /^[0-9]+$/;

/** The prefix length of a netmask (1*0*) as a uint32, or null. */
function maskPrefix(v: number): number | null {
  for (let p = 0; p <= 32; p++) if (maskWord(p) === v) return p;
  return null;
}

/** A word whose first `bits` (0..32) bits are set. */
const maskWord = (bits: number): number => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0);

function v4Network(text: string): NetworkParse | null {
  const parts = text.split('/');
  if (parts.length > 2) return null;
  const addr = parseIPv4(parts[0]!);
  if (addr === null) return null;
  let prefix = 32;
  if (parts.length === 2) {
    const arg = parts[1]!;
    if (DIGITS.test(arg) && Number(arg) <= 32) {
      prefix = Number(arg);
    } else {
      // Python also takes a dotted netmask (255.255.0.0) or hostmask (0.0.255.255).
      const m = parseIPv4(arg);
      const p = m === null ? null : (maskPrefix(m) ?? maskPrefix(~m >>> 0));
      if (p === null) return null;
      prefix = p;
    }
  }
  if ((addr & maskWord(prefix)) >>> 0 !== addr) return { kind: 'host-bits', text: `${formatIPv4(addr)}/${prefix}` };
  return { kind: 'network', network: { words: [0, 0, 0xffff, addr], prefix: 96 + prefix } };
}

function v6Network(text: string): NetworkParse | null {
  const parts = text.split('/');
  if (parts.length > 2) return null;
  const { addr, scope } = splitScope(parts[0]!);
  if (scope === undefined) return null;
  const h = parseIPv6(addr);
  if (h === null) return null;
  let prefix = 128;
  if (parts.length === 2) {
    if (!DIGITS.test(parts[1]!) || Number(parts[1]) > 128) return null;
    prefix = Number(parts[1]);
  }
  const words = hextetWords(h);
  for (let i = 0; i < 4; i++) {
    if ((words[i]! & maskWord(prefix - 32 * i)) >>> 0 !== words[i]) {
      return { kind: 'host-bits', text: `${formatIPv6(h)}${scope ? `%${scope}` : ''}/${prefix}` };
    }
  }
  return { kind: 'network', network: { words, prefix } };
}

/** Python's scope-id split: 'addr%scope' needs a non-empty scope without another '%'; undefined scope = invalid. */
function splitScope(s: string): { addr: string; scope: string | undefined } {
  const i = s.indexOf('%');
  if (i === -1) return { addr: s, scope: '' };
  const scope = s.slice(i + 1);
  return { addr: s.slice(0, i), scope: scope === '' || scope.includes('%') ? undefined : scope };
}

function hextetWords(h: readonly number[]): [number, number, number, number] {
  return [
    ((h[0]! << 16) | h[1]!) >>> 0,
    ((h[2]! << 16) | h[3]!) >>> 0,
    ((h[4]! << 16) | h[5]!) >>> 0,
    ((h[6]! << 16) | h[7]!) >>> 0,
  ];
}

/** ip_network(text): IPv4 first, then IPv6, as Python tries them. */
export function parseNetwork(text: string): NetworkParse {
  return v4Network(text) ?? v6Network(text) ?? { kind: 'invalid' };
}

// The peer being checked; one scratch array, so a check allocates nothing for IPv4 peers.
const peer = new Uint32Array(4);

/** ip_address(ip) into `peer` (IPv4 as its mapped form); false when it is not an address. */
function loadPeer(ip: string): boolean {
  if (!ip.includes(':')) {
    const v4 = parseIPv4(ip);
    if (v4 === null) return false;
    peer[0] = 0;
    peer[1] = 0;
    peer[2] = 0xffff;
    peer[3] = v4;
    return true;
  }
  const { addr, scope } = splitScope(ip);
  if (scope === undefined || scope.includes('/')) return false;
  const h = parseIPv6(addr);
  if (h === null) return false;
  for (let i = 0; i < 4; i++) peer[i] = (h[2 * i]! << 16) | h[2 * i + 1]!;
  return true;
}

export class AllowList {
  private constructor(
    private readonly everyone: boolean,
    // Per network, four masked words then four mask words.
    private readonly rules: Uint32Array,
  ) {}

  /** Entries as addrList validated them; an entry that is not a network throws. */
  static parse(entries: readonly string[]): AllowList {
    if (entries.includes('*')) return new AllowList(true, new Uint32Array(0));
    const rules = new Uint32Array(entries.length * 8);
    entries.forEach((entry, n) => {
      const parsed = parseNetwork(entry);
      if (parsed.kind === 'invalid') throw new Error(`${JSON.stringify(entry)} does not appear to be an IPv4 or IPv6 network`);
      if (parsed.kind === 'host-bits') throw new Error(`${parsed.text} has host bits set`);
      const { words, prefix } = parsed.network;
      for (let i = 0; i < 4; i++) {
        rules[n * 8 + i] = words[i]!;
        rules[n * 8 + 4 + i] = maskWord(prefix - 32 * i);
      }
    });
    return new AllowList(false, rules);
  }

  /** Whether the peer `ip` (as node reports it) is trusted; false for anything that is not an IP address. */
  allows(ip: string): boolean {
    if (this.everyone) return true;
    if (!loadPeer(ip)) return false;
    const r = this.rules;
    for (let n = 0; n < r.length; n += 8) {
      if (
        (peer[0]! & r[n + 4]!) >>> 0 === r[n] &&
        (peer[1]! & r[n + 5]!) >>> 0 === r[n + 1] &&
        (peer[2]! & r[n + 6]!) >>> 0 === r[n + 2] &&
        (peer[3]! & r[n + 7]!) >>> 0 === r[n + 3]
      ) {
        return true;
      }
    }
    return false;
  }
}
