// What python/nicorn/host/ imports as `_nicorn_host`: host services Python
// calls directly (not through a system call), such as key derivation by the
// host's crypto. One object per thread; a snapshot refers to it by name.

import { hostObject } from '../snapshot.js';
import { LOCKS_API } from './locks.js';

export const HOST_API = hostObject('_nicorn_host', {
  ...LOCKS_API,
});
