// AllowList: which peers --forwarded-allow-ips / --proxy-allow-from trust, as
// Gunicorn 24.1's _ip_in_allow_list (ip_address(peer) in ip_network(entry)),
// plus the address helpers the PROXY protocol parser shares.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AllowList, formatIPv6, parseIPv4, parseIPv6, parseNetwork } from '../../src/config/networks.js';

const allows = (entries: string[], ip: string) => AllowList.parse(entries).allows(ip);

test("'*' trusts every peer, even one that is not an address", () => {
  const any = AllowList.parse(['10.0.0.1', '*']);
  for (const ip of ['127.0.0.1', '::1', '::ffff:10.9.8.7', '203.0.113.5', 'garbage', '']) assert.ok(any.allows(ip), ip);
});

test('an empty list trusts nobody', () => {
  assert.not.ok(allows([], '127.0.0.1'));
  assert.not.ok(allows([], '::1'));
});

test('an exact IPv4 entry matches that address only', () => {
  const list = AllowList.parse(['127.0.0.1', '10.1.2.3']);
  assert.ok(list.allows('127.0.0.1'));
  assert.ok(list.allows('10.1.2.3'));
  assert.not.ok(list.allows('127.0.0.2'));
  assert.not.ok(list.allows('10.1.2.4'));
});

test('an exact IPv6 entry matches the address however it is written', () => {
  const list = AllowList.parse(['::1', '2001:db8::7']);
  assert.ok(list.allows('::1'));
  assert.ok(list.allows('0:0:0:0:0:0:0:1'));
  assert.ok(list.allows('2001:DB8:0::7'));
  assert.not.ok(list.allows('::2'));
  assert.not.ok(list.allows('2001:db8::8'));
});

test('an IPv4 network matches the addresses inside it', () => {
  const list = AllowList.parse(['10.0.0.0/8', '192.168.1.0/24']);
  assert.ok(list.allows('10.0.0.0'));
  assert.ok(list.allows('10.255.255.255'));
  assert.ok(list.allows('192.168.1.77'));
  assert.not.ok(list.allows('11.0.0.1'));
  assert.not.ok(list.allows('192.168.2.1'));
});

test("an IPv4 network may be written with Python's dotted netmask or hostmask", () => {
  assert.ok(allows(['10.0.0.0/255.0.0.0'], '10.20.30.40'));
  assert.ok(allows(['10.0.0.0/0.255.255.255'], '10.20.30.40'));
  assert.not.ok(allows(['10.0.0.0/255.0.0.0'], '11.0.0.1'));
});

test('0.0.0.0/0 matches every IPv4 peer, and no IPv6 one', () => {
  assert.ok(allows(['0.0.0.0/0'], '203.0.113.9'));
  assert.ok(allows(['0.0.0.0/0'], '::ffff:203.0.113.9'));
  assert.not.ok(allows(['0.0.0.0/0'], '2001:db8::1'));
});

test('an IPv6 network matches the addresses inside it', () => {
  const list = AllowList.parse(['2001:db8::/32', 'fd00::/8']);
  assert.ok(list.allows('2001:db8:ffff::1'));
  assert.ok(list.allows('fdab:cdef::9'));
  assert.not.ok(list.allows('2001:db9::1'));
  assert.not.ok(list.allows('fe80::1'));
});

test('an IPv4-mapped peer (node on a dual-stack socket) matches its IPv4 entries, and the reverse', () => {
  assert.ok(allows(['127.0.0.1'], '::ffff:127.0.0.1'));
  assert.ok(allows(['10.0.0.0/8'], '::ffff:10.2.3.4'));
  assert.ok(allows(['10.0.0.0/8'], '::FFFF:a02:304'));
  assert.not.ok(allows(['127.0.0.1'], '::ffff:127.0.0.2'));
  assert.ok(allows(['::ffff:127.0.0.1'], '127.0.0.1'));
  // The IPv4-compatible form is another address.
  assert.not.ok(allows(['127.0.0.1'], '::127.0.0.1'));
});

test('a scope id on the peer or the entry is ignored, as in Python', () => {
  assert.ok(allows(['fe80::1'], 'fe80::1%eth0'));
  assert.ok(allows(['fe80::%eth0/64'], 'fe80::1234'));
});

test('a peer that is not an IP address is never trusted', () => {
  const list = AllowList.parse(['0.0.0.0/0', '::/0']);
  for (const ip of ['', 'localhost', '1.2.3', '1.2.3.4.5', '01.2.3.4', '256.0.0.1', '1::2::3', 'fe80::1%', '::1/128', ' 127.0.0.1']) {
    assert.not.ok(list.allows(ip), ip);
  }
});

test('AllowList.parse refuses an entry that is not a network', () => {
  assert.throws(() => AllowList.parse(['nope']), /does not appear to be an IPv4 or IPv6 network/);
  assert.throws(() => AllowList.parse(['10.0.0.1/8']), /10\.0\.0\.1\/8 has host bits set/);
});

test('parseNetwork: ipaddress.ip_network in strict mode', () => {
  assert.equal(parseNetwork('10.0.0.0/8'), { kind: 'network', network: { words: [0, 0, 0xffff, 0x0a000000], prefix: 104 } });
  assert.equal(parseNetwork('::1'), { kind: 'network', network: { words: [0, 0, 0, 1], prefix: 128 } });
  assert.equal(parseNetwork('10.0.0.0/024'), { kind: 'network', network: { words: [0, 0, 0xffff, 0x0a000000], prefix: 120 } });
  assert.equal(parseNetwork('10.0.0.0/016'), { kind: 'network', network: { words: [0, 0, 0xffff, 0x0a000000], prefix: 112 } });
  assert.equal(parseNetwork('10.0.0.1/8'), { kind: 'host-bits', text: '10.0.0.1/8' });
  assert.equal(parseNetwork('192.168.1.1/255.255.255.0'), { kind: 'host-bits', text: '192.168.1.1/24' });
  assert.equal(parseNetwork('2001:DB8:0:0::1/64'), { kind: 'host-bits', text: '2001:db8::1/64' });
  assert.equal(parseNetwork('fe80::1%eth0/64'), { kind: 'host-bits', text: 'fe80::1%eth0/64' });
  for (const bad of ['', '/8', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/+8', '10.0.0.0/8/8', '::/129', '1.2.3.4%x', 'fe80::1%', '10.0.0.0/255.0.255.0']) {
    assert.equal(parseNetwork(bad), { kind: 'invalid' }, bad);
  }
});

test("parseIPv4: inet_pton's dotted quad (no leading zeros, no short forms)", () => {
  assert.is(parseIPv4('192.168.0.1'), 0xc0a80001);
  assert.is(parseIPv4('0.0.0.0'), 0);
  assert.is(parseIPv4('255.255.255.255'), 0xffffffff);
  for (const bad of ['', '1.2.3', '1.2.3.4.', '.1.2.3', '01.2.3.4', '1.2.3.256', '1..2.3', '1.2.3.4 ', '0x1.2.3.4']) {
    assert.is(parseIPv4(bad), null, bad);
  }
});

test("parseIPv6: inet_pton's grammar (one '::' for at least one zero group, dotted tail, no scope)", () => {
  assert.equal(parseIPv6('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(parseIPv6('::ffff:1.2.3.4'), [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
  assert.equal(parseIPv6('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(parseIPv6('::2:3:4:5:6:7:8'), [0, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(parseIPv6('0001::'), [1, 0, 0, 0, 0, 0, 0, 0]);
  for (const bad of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', ':1::', '1::2:', '12345::', '::1%eth0', '::ffff:01.2.3.4', 'g::']) {
    assert.is(parseIPv6(bad), null, bad);
  }
});

test("formatIPv6: glibc inet_ntop's text (with the dotted tail) and Python str()'s (without)", () => {
  assert.is(formatIPv6([0, 0, 0, 0, 0, 0, 0, 0], true), '::');
  assert.is(formatIPv6([0, 0, 0, 0, 0, 0, 0, 1], true), '::1');
  assert.is(formatIPv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], true), '2001:db8::1:0:0:1');
  assert.is(formatIPv6([1, 0, 2, 0, 3, 0, 4, 0], true), '1:0:2:0:3:0:4:0');
  assert.is(formatIPv6([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304], true), '::ffff:1.2.3.4');
  assert.is(formatIPv6([0, 0, 0, 0, 0, 0, 0x0102, 0x0304], true), '::1.2.3.4');
  assert.is(formatIPv6([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]), '::ffff:102:304');
  assert.is(formatIPv6([0xabcd, 0, 0, 0, 0, 0, 0, 0]), 'abcd::');
});

test.run();
