// Python's glob.glob(pattern, recursive=True), which Gunicorn 26.1 uses to
// expand the patterns of reload_extra_files on every reload check: `*`, `?`
// and `[...]` within one path segment, `**` for any number of directories,
// and (as glob, not as a shell) names starting with a dot matched only by a
// segment that starts with a dot. Node 20 has no fs.glob (22 has one, with
// other rules for dotfiles), so here it is, small.

import fs from 'node:fs';
import path from 'node:path';

/** Gunicorn's util.is_glob_pattern: an entry with `*`, `?` or `[` is a pattern. */
export function isGlobPattern(entry: string): boolean {
  return /[*?[]/.test(entry);
}

/** fnmatch.translate for one segment: `*`, `?`, `[seq]`, `[!seq]`; anything else literal. */
function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i + 1;
      if (segment[j] === '!') j++;
      if (segment[j] === ']') j++;
      while (j < segment.length && segment[j] !== ']') j++;
      if (j >= segment.length) {
        re += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, j).replace(/\\/g, '\\\\');
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      else if (body.startsWith('^')) body = `\\${body}`;
      re += `[${body}]`;
      i = j;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

function entries(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Every directory below `dir` (not following symlinks, which could loop), hidden ones left out, `dir` first. */
function subdirs(dir: string): string[] {
  const out = [dir];
  for (const e of entries(dir)) {
    if (e.isDirectory() && !e.name.startsWith('.')) out.push(...subdirs(path.join(dir, e.name)));
  }
  return out;
}

/**
 * The existing paths `pattern` matches, absolute (a relative pattern is
 * taken from `base`), sorted. A pattern without magic gives its path when
 * it exists.
 */
export function globSync(pattern: string, base: string): string[] {
  const abs = path.resolve(base, pattern);
  const segments = abs.split('/').slice(1);
  let found = ['/'];
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    const next: string[] = [];
    if (segment === '**') {
      for (const dir of found) {
        for (const sub of subdirs(dir)) {
          next.push(sub);
          // A final `**` matches the files too.
          if (last) for (const e of entries(sub)) if (!e.isDirectory() && !e.name.startsWith('.')) next.push(path.join(sub, e.name));
        }
      }
    } else if (!isGlobPattern(segment)) {
      for (const dir of found) {
        const p = path.join(dir, segment);
        if (fs.existsSync(p)) next.push(p);
      }
    } else {
      const re = segmentRegExp(segment);
      const hidden = segment.startsWith('.');
      for (const dir of found) {
        for (const e of entries(dir)) {
          if (e.name.startsWith('.') && !hidden) continue;
          if (re.test(e.name)) next.push(path.join(dir, e.name));
        }
      }
    }
    found = [...new Set(next)];
  });
  // A relative pattern names what is below `base`, never `base` itself (`**` from there, as glob's '').
  const relative = !path.isAbsolute(pattern);
  return found.filter((p) => (p !== '/' || segments.length === 0) && !(relative && p === path.resolve(base))).sort();
}
