// -u/-g/--initgroups: a worker drops to the configured user and group before
// any app code runs, as Gunicorn's util.set_owner_process does in its workers.

import type { Settings } from '../config/registry.js';
import type { ErrorLog } from '../log/error-log.js';

export function dropPrivileges(settings: Pick<Settings, 'user' | 'group' | 'initgroups'>, log: ErrorLog): void {
  // --initgroups: the user's supplementary groups (plus the group), as os.initgroups(username, gid).
  // Gunicorn skips it for a uid without a passwd entry; so does Node's, which then throws.
  const { initgroups } = process as { initgroups?: (user: number | string, extraGroup: number | string) => void };
  if (settings.initgroups && settings.group && settings.user && initgroups) {
    try {
      initgroups.call(process, settings.user, settings.group);
    } catch (e) {
      log.debug(`initgroups skipped: ${(e as Error).message}`);
    }
  }
  if (settings.group !== process.getegid?.()) process.setgid?.(settings.group);
  if (settings.user !== process.geteuid?.()) process.setuid?.(settings.user);
}
