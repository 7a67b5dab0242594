// addrList: validate_string_to_addr_list of --forwarded-allow-ips and
// --proxy-allow-from (Gunicorn 24.1.1+): '*', addresses, or networks, each
// checked with ipaddress.ip_network(entry) in strict mode, kept as written.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SettingError, addrList } from '../../src/config/validators.js';

function reason(raw: unknown): string {
  try {
    addrList(raw);
  } catch (e) {
    if (e instanceof SettingError) return e.message;
    throw e;
  }
  return 'accepted';
}

test('addresses, networks and * are accepted and kept as written', () => {
  assert.equal(addrList('127.0.0.1,::1'), ['127.0.0.1', '::1']);
  assert.equal(addrList(' 10.0.0.0/8 , 2001:DB8::/32,*'), ['10.0.0.0/8', '2001:DB8::/32', '*']);
  assert.equal(addrList('192.168.0.0/255.255.0.0'), ['192.168.0.0/255.255.0.0']);
  assert.equal(addrList('fe80::1%eth0'), ['fe80::1%eth0']);
  assert.equal(addrList('0.0.0.0/0,::/0'), ['0.0.0.0/0', '::/0']);
});

test('empty values are an empty list', () => {
  assert.equal(addrList(''), []);
  assert.equal(addrList(null), []);
  assert.equal(addrList('1.2.3.4,,5.6.7.8'), ['1.2.3.4', '5.6.7.8']);
});

test("an entry that is not an address or network: Python's ValueError text", () => {
  assert.is(reason('not-an-ip'), "'not-an-ip' does not appear to be an IPv4 or IPv6 network");
  assert.is(reason('127.0.0.1,localhost'), "'localhost' does not appear to be an IPv4 or IPv6 network");
  assert.is(reason('10.0.0.0/33'), "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network");
  assert.is(reason('::/129'), "'::/129' does not appear to be an IPv4 or IPv6 network");
  assert.is(reason('010.0.0.1'), "'010.0.0.1' does not appear to be an IPv4 or IPv6 network");
  assert.is(reason('10.0.0.0/8/8'), "'10.0.0.0/8/8' does not appear to be an IPv4 or IPv6 network");
});

test('a network with host bits set is refused (strict mode), named as Python prints it', () => {
  assert.is(reason('192.168.1.1/24'), '192.168.1.1/24 has host bits set');
  assert.is(reason('192.168.1.1/255.255.255.0'), '192.168.1.1/24 has host bits set');
  assert.is(reason('2001:DB8:0::1/32'), '2001:db8::1/32 has host bits set');
});

test.run();
