import { expect } from '@hapi/code';
import * as Lab from '@hapi/lab';

import { SessionStore } from '../../server/console/sessions';

export const lab = Lab.script();
const { describe, it } = lab;

describe('console sessions', () => {

    it('issues unguessable ids that stay valid until their time is up', () => {

        let now = 1_000;
        const store = new SessionStore({ ttlMs: 60_000, now: () => now });
        const a = store.create();
        const b = store.create();
        expect(a.id).to.not.equal(b.id);
        expect(a.id).to.match(/^[\w-]{43}$/);
        expect(a.expiresAt).to.equal(61_000);
        expect(store.get(a.id)).to.equal(a);

        now = 60_999;
        expect(store.get(a.id)).to.equal(a);
        now = 61_000;
        expect(store.get(a.id)).to.be.null();
        expect(store.get(b.id)).to.be.null();
    });

    it('forgets revoked sessions and ignores ids that are not strings', () => {

        const store = new SessionStore({ ttlMs: 60_000 });
        const session = store.create();
        store.revoke(session.id);
        expect(store.get(session.id)).to.be.null();
        expect(store.get(undefined)).to.be.null();
        expect(store.get({ id: session.id })).to.be.null();
        store.revoke(42);
        expect(store.size).to.equal(0);
    });

    it('drops expired sessions and then the oldest ones so logins cannot grow memory', () => {

        let now = 0;
        const store = new SessionStore({ ttlMs: 100, maxSessions: 3, now: () => now });
        const stale = store.create();
        now = 200;
        const first = store.create();
        expect(store.size).to.equal(1);
        expect(store.get(stale.id)).to.be.null();

        const second = store.create();
        const third = store.create();
        const fourth = store.create();
        expect(store.size).to.equal(3);
        expect(store.get(first.id)).to.be.null();
        expect([second, third, fourth].every((session) => store.get(session.id) === session)).to.be.true();
    });
});
