import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cidrContains,
  cidrCovers,
  cidrOverlaps,
  formatIp,
  networkContains,
  networkSize,
  parseCidr,
  parseIp,
  unexceptedOverlaps,
} from '../src/net/cidr.js';

const ip = (s: string) => {
  const v = parseIp(s);
  assert.ok(v, s);
  return v;
};

test('parseIp accepts IPv4 and IPv6 forms and rejects the rest', () => {
  assert.equal(ip('203.0.113.10').value, 0xcb00710an);
  assert.equal(formatIp(ip('2001:db8:0:0:0:0:0:1')), '2001:db8::1');
  assert.equal(formatIp(ip('::')), '::');
  assert.equal(formatIp(ip('::ffff:1.2.3.4')), '::ffff:102:304');
  for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', 'a::b::c', '1:2:3:4:5:6:7:8:9', 'example.com', '']) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

test('parseCidr canonicalises and explains what is wrong', () => {
  assert.equal(parseCidr('10.0.0.0/8').text, '10.0.0.0/8');
  assert.equal(parseCidr('fd00::/8').text, 'fd00::/8');
  assert.equal(parseCidr('192.0.2.5').text, '192.0.2.5/32');
  assert.throws(() => parseCidr('10.0.0.1/8'), /host bits set \(did you mean 10\.0\.0\.0\/8\?\)/);
  assert.throws(() => parseCidr('10.0.0.0/33'), /prefix length must be 0 to 32/);
  assert.throws(() => parseCidr('nope/8'), /not an IPv4 or IPv6 address/);
});

test('containment, cover and overlap', () => {
  const ten = parseCidr('10.0.0.0/8');
  assert.ok(cidrContains(ten, ip('10.255.0.1')));
  assert.ok(!cidrContains(ten, ip('11.0.0.1')));
  assert.ok(!cidrContains(ten, ip('::1')));
  assert.ok(cidrCovers(parseCidr('0.0.0.0/0'), ten));
  assert.ok(!cidrCovers(ten, parseCidr('0.0.0.0/0')));
  assert.ok(cidrOverlaps(ten, parseCidr('10.1.0.0/16')));
  assert.ok(!cidrOverlaps(ten, parseCidr('172.16.0.0/12')));
});

test('networks with exceptions: containment, size after exceptions, and cluster overlap', () => {
  const cluster = ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16'].map(parseCidr);
  const all = { cidr: parseCidr('0.0.0.0/0'), except: cluster };
  assert.ok(networkContains(all, ip('203.0.113.10')));
  assert.ok(!networkContains(all, ip('10.1.2.3')));
  // ipnet hosts().count(): an IPv4 block below /31 leaves out its network and broadcast addresses.
  assert.equal(
    networkSize(all),
    2n ** 32n - 2n - (2n ** 24n - 2n) - (2n ** 22n - 2n) - (2n ** 20n - 2n) - (2n ** 16n - 2n),
  );
  assert.equal(networkSize(all), 4272881670n);
  assert.deepEqual(unexceptedOverlaps(all, cluster), []);
  const leaky = { cidr: parseCidr('0.0.0.0/0'), except: cluster.filter((c) => c.text !== '172.16.0.0/12') };
  assert.deepEqual(
    unexceptedOverlaps(leaky, cluster).map((c) => c.text),
    ['172.16.0.0/12'],
  );
  // Exceptions are summed as they are ("We assume that exceptions do not overlap",
  // linkerd2 policy-controller/k8s/api/src/policy/network.rs Network::block_size): a nested one is
  // subtracted again.
  const nested = {
    cidr: parseCidr('10.0.0.0/8'),
    except: [parseCidr('10.1.0.0/16'), parseCidr('10.1.2.0/24')],
  };
  assert.equal(networkSize(nested), 2n ** 24n - 2n - (2n ** 16n - 2n) - 254n);
});
