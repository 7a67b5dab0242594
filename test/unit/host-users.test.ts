// The host's user and group databases as python/nicorn/host/pwd_module.py and
// grp_module.py get them (src/runtime/host/users.ts): the host C library's
// answers, checked against the host's own files (/etc/passwd, /etc/group).

import fs from 'node:fs';
import os from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { USERS_API, type GroupRecord, type PasswdRecord } from '../../src/runtime/host/users.js';

const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));

test('getpwnam, getpwuid: the entry as /etc/passwd has it; null for none', () => {
  const me = os.userInfo();
  const byName = JSON.parse(USERS_API.pwd_getpwnam(me.username)) as PasswdRecord;
  assert.equal([byName.pw_uid, byName.pw_gid, byName.pw_dir, byName.pw_shell], [me.uid, me.gid, me.homedir, me.shell]);
  assert.equal(JSON.parse(USERS_API.pwd_getpwuid(me.uid)), byName);
  assert.is(JSON.parse(USERS_API.pwd_getpwnam('no-such-user-nicorn')), null);
  assert.is(JSON.parse(USERS_API.pwd_getpwuid(4_000_000_000)), null);
});

test('getpwall: every /etc/passwd entry, fields in order', () => {
  const all = JSON.parse(USERS_API.pwd_getpwall()) as PasswdRecord[];
  for (const [name, passwd, uid, gid, gecos, dir, shell] of lines('/etc/passwd')) {
    const e = all.find((p) => p.pw_name === name);
    assert.equal(e, { pw_name: name, pw_passwd: passwd, pw_uid: Number(uid), pw_gid: Number(gid), pw_gecos: gecos, pw_dir: dir, pw_shell: shell }, name);
  }
});

test('getgrnam, getgrgid, getgrall: every /etc/group entry with its members', () => {
  const all = JSON.parse(USERS_API.grp_getgrall()) as GroupRecord[];
  for (const [name, passwd, gid, members] of lines('/etc/group')) {
    const expected = { gr_name: name, gr_passwd: passwd, gr_gid: Number(gid), gr_mem: members ? members.split(',') : [] };
    assert.equal(all.find((g) => g.gr_name === name), expected, name);
    assert.equal(JSON.parse(USERS_API.grp_getgrnam(name!)), expected);
    assert.equal(JSON.parse(USERS_API.grp_getgrgid(Number(gid))).gr_gid, Number(gid));
  }
  assert.is(JSON.parse(USERS_API.grp_getgrnam('no-such-group-nicorn')), null);
});

test.run();
