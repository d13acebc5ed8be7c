import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { ConfigError, loadConfig } from '../../server/config';
import { addressKey, clientAddress, parseTrustProxy, TrustProxyError } from '../../server/security/client-address';

export const lab = Lab.script();
const { describe, it } = lab;

describe('client address through TRUST_PROXY', () => {

    it('parses addresses, CIDR ranges and the words loopback and private', () => {

        const trusted = parseTrustProxy(' 203.0.113.5, 10.1.0.0/16 ,loopback, 2001:db8::/32 ');
        expect(trusted.entries).to.equal(['203.0.113.5', '10.1.0.0/16', 'loopback', '2001:db8::/32']);
        expect(trusted.trusts('203.0.113.5')).to.be.true();
        expect(trusted.trusts('203.0.113.6')).to.be.false();
        expect(trusted.trusts('10.1.200.3')).to.be.true();
        expect(trusted.trusts('10.2.0.1')).to.be.false();
        expect(trusted.trusts('127.0.0.1')).to.be.true();
        expect(trusted.trusts('::ffff:127.0.0.1')).to.be.true();
        expect(trusted.trusts('::1')).to.be.true();
        expect(trusted.trusts('2001:db8:1::9')).to.be.true();
        expect(trusted.trusts('not-an-address')).to.be.false();
        expect(parseTrustProxy('private').trusts('192.168.4.4')).to.be.true();
        expect(parseTrustProxy('').trusts('127.0.0.1')).to.be.false();
    });

    it('refuses entries that are not addresses or ranges, naming them', () => {

        for (const [value, message] of [
            ['proxy.example', /"proxy.example" is not an IP address/],
            ['10.0.0.0/33', /"10.0.0.0\/33" has an invalid prefix length \(0–32\)/],
            ['10.0.0.0/8/1', /is not an IP address/],
            ['::1/129', /invalid prefix length \(0–128\)/],
            ['10.0.0.0/x', /invalid prefix length/]
        ] as const) {
            expect(() => parseTrustProxy(value)).to.throw(TrustProxyError, message);
        }

        expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).to.throw(ConfigError, /^Invalid TRUST_PROXY: "everyone" is not an IP address, a CIDR range or one of: loopback, private$/);
    });

    it('believes X-Forwarded-For only as far as the hops are trusted', () => {

        const trusted = parseTrustProxy('10.0.0.0/8');
        // No trusted proxy: the socket address, whatever the header says.
        expect(clientAddress('198.51.100.1', '192.0.2.1', parseTrustProxy(''))).to.equal('198.51.100.1');
        expect(clientAddress('198.51.100.1', '192.0.2.1', trusted)).to.equal('198.51.100.1');
        // A trusted proxy: the rightmost untrusted entry; what the client put in front is ignored.
        expect(clientAddress('10.0.0.2', '192.0.2.99, 198.51.100.7', trusted)).to.equal('198.51.100.7');
        expect(clientAddress('10.0.0.2', '192.0.2.99, 198.51.100.7, 10.0.0.9', trusted)).to.equal('198.51.100.7');
        expect(clientAddress('::ffff:10.0.0.2', ['198.51.100.7', '10.0.0.9'], trusted)).to.equal('198.51.100.7');
        // Only trusted hops: the leftmost; no header: the proxy itself; garbage: the hop that reported it.
        expect(clientAddress('10.0.0.2', '10.0.0.3, 10.0.0.4', trusted)).to.equal('10.0.0.3');
        expect(clientAddress('10.0.0.2', undefined, trusted)).to.equal('10.0.0.2');
        expect(clientAddress('10.0.0.2', 'unknown', trusted)).to.equal('10.0.0.2');
        expect(clientAddress('10.0.0.2', '198.51.100.7, <script>, 10.0.0.9', trusted)).to.equal('10.0.0.9');
    });

    it('counts an IPv6 client by its /64 and an IPv4 client by its address', () => {

        expect(addressKey('198.51.100.7')).to.equal('198.51.100.7');
        expect(addressKey('::ffff:198.51.100.7')).to.equal('198.51.100.7');
        expect(addressKey('2001:db8:0:1:aaaa::1')).to.equal('2001:db8:0:1::/64');
        expect(addressKey('2001:DB8:0:1:bbbb:cccc:dddd:eeee')).to.equal('2001:db8:0:1::/64');
        expect(addressKey('2001:db8::1')).to.equal('2001:db8:0:0::/64');
        expect(addressKey('::1')).to.equal('0:0:0:0::/64');
    });
});
