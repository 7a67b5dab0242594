// What python/nicorn/host/ imports as `_nicorn_host`: host services Python
// calls directly (not through a system call), such as key derivation by the
// host's crypto. One object per thread; a snapshot refers to it by name.

import { hostObject } from '../snapshot.js';
import { LOCKS_API } from './locks.js';
import { DNS_API } from './dns.js';
import { NET_API } from './sockets.js';
import { HASHING } from './hashing.js';
import { TIMEZONE } from './timezone.js';
import { TLS_API } from './tls-api.js';
import { USERS_API } from './users.js';

export const HOST_API = hostObject('_nicorn_host', {
  ...NET_API,
  ...DNS_API,
  ...TLS_API,
  ...HASHING,
  ...TIMEZONE,
  ...LOCKS_API,
  ...USERS_API,
});
