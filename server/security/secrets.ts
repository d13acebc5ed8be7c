// Keys derived from SESSION_SECRET, one per purpose, so a value signed for one
// purpose (a device cookie) can never pass for another (a CSRF token).

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type KeyPurpose = 'session-cookie' | 'csrf' | 'device';

export function deriveKey(secret: string, purpose: KeyPurpose): Buffer {

    return createHmac('sha256', secret).update(`neo-alexandria:${purpose}`).digest();
}

/** HMAC-SHA-256 of a value, base64url. */
export function sign(key: Buffer, value: string): string {

    return createHmac('sha256', key).update(value, 'utf8').digest('base64url');
}

/** Constant-time comparison of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {

    // Hashing first gives equal lengths, so timingSafeEqual leaks nothing about the length.
    return timingSafeEqual(sha256(a, 'buffer'), sha256(b, 'buffer'));
}

export function sha256(value: string, encoding: 'hex'): string;
export function sha256(value: string, encoding: 'buffer'): Buffer;
export function sha256(value: string, encoding: 'hex' | 'buffer'): string | Buffer {

    const hash = createHash('sha256').update(value, 'utf8');
    return encoding === 'hex' ? hash.digest('hex') : hash.digest();
}
