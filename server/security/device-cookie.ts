// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device
// Cookies"): a browser or script that once authenticated successfully gets a
// signed, random device id. Its failures are counted under that id instead of
// under its address, so someone else's guessing from the same address (a
// shared proxy, an office NAT) never locks it out. It is not a credential: it
// only buys its holder a failure budget of its own.

import { randomBytes } from 'node:crypto';

import { safeEqual, sign } from './secrets';

export const DEVICE_COOKIE = 'na_device';
/** How long a device stays known without authenticating again. */
export const DEVICE_COOKIE_TTL_MS = 180 * 24 * 60 * 60_000;

export function newDeviceCookie(key: Buffer): string {

    const id = randomBytes(16).toString('base64url');
    return `${id}.${sign(key, id)}`;
}

/** The device id of a cookie this server signed, or null. */
export function verifyDeviceCookie(key: Buffer, value: unknown): string | null {

    if (typeof value !== 'string') {
        return null;
    }

    const match = /^([\w-]{22})\.([\w-]{43})$/.exec(value);
    return match && safeEqual(match[2]!, sign(key, match[1]!)) ? match[1]! : null;
}
