// The address a request comes from, as seen through the proxies the operator
// trusts (TRUST_PROXY). X-Forwarded-For is read right to left and only as far
// as the hops are trusted: the first untrusted address is the client. A
// header sent by a client that is not behind a trusted proxy is ignored, so
// nobody can choose the address the login throttle counts them under.

import { BlockList, isIP } from 'node:net';

/** Words TRUST_PROXY accepts besides addresses and CIDR ranges. */
export const TRUST_PROXY_WORDS: Record<string, ReadonlyArray<string>> = {
    loopback: ['127.0.0.0/8', '::1/128'],
    private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']
};

export class TrustProxyError extends Error {

    constructor(message: string) {

        super(message);
        this.name = 'TrustProxyError';
    }
}

/** The parsed TRUST_PROXY list: which direct peers may tell us who the client is. */
export interface TrustedProxies {
    /** The entries as configured (normalised), for logs and docs. */
    entries: string[];
    trusts(address: string): boolean;
}

/** IPv4-mapped IPv6 (::ffff:10.0.0.1, what a dual-stack socket reports) as plain IPv4. */
export function normaliseAddress(address: string): string {

    const trimmed = address.trim();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
    return mapped ? mapped[1]! : trimmed.toLowerCase();
}

function addEntry(list: BlockList, entry: string): void {

    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address ?? '');
    if (!family || extra !== undefined) {
        throw new TrustProxyError(`"${entry}" is not an IP address, a CIDR range or one of: ${Object.keys(TRUST_PROXY_WORDS).join(', ')}`);
    }

    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
        list.addAddress(address!, type);
        return;
    }

    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!(bits >= 0 && bits <= (family === 4 ? 32 : 128))) {
        throw new TrustProxyError(`"${entry}" has an invalid prefix length (0–${family === 4 ? 32 : 128})`);
    }

    list.addSubnet(address!, bits, type);
}

/**
 * Parses TRUST_PROXY: a comma-separated list of IP addresses, CIDR ranges
 * and the words `loopback` and `private`. Empty trusts nobody.
 */
export function parseTrustProxy(value: string | undefined): TrustedProxies {

    const entries = String(value ?? '').split(',').map((entry) => entry.trim().toLowerCase()).filter(Boolean);
    const list = new BlockList();
    for (const entry of entries) {
        for (const range of TRUST_PROXY_WORDS[entry] ?? [entry]) {
            addEntry(list, range);
        }
    }

    return {
        entries,
        trusts(address: string) {

            const normalised = normaliseAddress(address);
            const family = isIP(normalised);
            return entries.length > 0 && family !== 0 && list.check(normalised, family === 4 ? 'ipv4' : 'ipv6');
        }
    };
}

/**
 * The client's address: the socket peer, or, when that peer is a trusted
 * proxy, the rightmost X-Forwarded-For entry that is not itself trusted. A
 * malformed entry ends the walk at the trusted hop that reported it.
 */
export function clientAddress(remoteAddress: string, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string {

    let client = normaliseAddress(remoteAddress);
    if (!trusted.trusts(client) || forwardedFor === undefined) {
        return client;
    }

    const hops = ([] as string[]).concat(forwardedFor).join(',').split(',').map(normaliseAddress).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; --i) {
        const hop = hops[i]!;
        if (!isIP(hop)) {
            return client;
        }

        client = hop;
        if (!trusted.trusts(hop)) {
            return client;
        }
    }

    return client;
}

/**
 * The key failures are counted under for an address. An IPv6 client usually
 * holds a whole /64, so it is counted as one; IPv4 addresses count alone.
 */
export function addressKey(address: string): string {

    const normalised = normaliseAddress(address);
    if (isIP(normalised) !== 6) {
        return normalised;
    }

    const [head = '', tail = ''] = normalised.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = normalised.includes('::')
        ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
        : left;
    return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
