// A demo library a new user sees on first start: users, a classification
// scheme, a taxonomy, 300 resources with subjects, collections, annotations,
// citations and graph edges. Deterministic: the same data on every run.

import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

function prng(seed: number) {

    // mulberry32: small, fast, deterministic.
    return () => {

        seed = (seed + 0x6D2B79F5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

let random = prng(20261123);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const pickSome = <T>(items: readonly T[], min: number, max: number): T[] => {

    const count = min + Math.floor(random() * (max - min + 1));
    return [...new Set(Array.from({ length: count }, () => pick(items)))];
};

const TOPICS = {
    'Computer science': ['algorithms', 'databases', 'distributed systems', 'machine learning', 'compilers', 'cryptography', 'networking'],
    'Physics': ['quantum mechanics', 'relativity', 'thermodynamics', 'optics', 'particle physics'],
    'Biology': ['genetics', 'ecology', 'evolution', 'neuroscience', 'microbiology'],
    'History': ['ancient history', 'medieval history', 'history of science', 'economic history'],
    'Philosophy': ['ethics', 'logic', 'epistemology', 'philosophy of mind']
} as const;

const ADJECTIVES = ['A practical', 'An introduction to', 'Advanced', 'Notes on', 'Rethinking', 'The foundations of', 'A survey of', 'Lessons from'];
const FORMS = ['guide', 'survey', 'case study', 'handbook', 'essay', 'lecture notes', 'field report'];
const TYPES = ['article', 'paper', 'book', 'link', 'video', 'dataset'];
const STATUSES = ['unread', 'unread', 'in_progress', 'read', 'archived'] as const;
const COLORS = ['#ffff00', '#a0e7a0', '#ffc0cb', '#add8e6'];

function chunked<T>(rows: T[], size = 50): T[][] {

    const chunks: T[][] = [];
    for (let i = 0; i < rows.length; i += size) {
        chunks.push(rows.slice(i, i + size));
    }

    return chunks;
}

async function insertAll(knex: Knex, table: string, rows: object[]): Promise<void> {

    for (const chunk of chunked(rows)) {
        await knex(table).insert(chunk);
    }
}

const slugify = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

export async function seed(knex: Knex): Promise<void> {

    const [{ count }] = await knex('resources').count({ count: '*' });
    if (Number(count) > 0) {
        console.log('seeds: the library already has resources; the demo library is only loaded into an empty database');
        return;
    }

    random = prng(20261123);

    const base = Date.parse('2026-01-01T00:00:00.000Z');
    const at = (dayOffset: number) => new Date(base + dayOffset * 86_400_000 + Math.floor(random() * 86_400_000)).toISOString();

    const users = ['ada@example.org', 'hypatia@example.org', 'alan@example.org'].map((email, i) => ({
        id: randomUUID(),
        email,
        display_name: email.split('@')[0]!.replace(/^./, (c) => c.toUpperCase()),
        role: i === 0 ? 'admin' : 'editor',
        created_at: at(0),
        updated_at: at(0)
    }));
    await insertAll(knex, 'users', users);

    // Classification codes: one top-level code per field, one child per topic.
    const codes: Array<{ code: string; label: string; parent_code: string | null }> = [];
    Object.entries(TOPICS).forEach(([field, topics], i) => {

        const top = `${i + 1}00`;
        codes.push({ code: top, label: field, parent_code: null });
        topics.forEach((topic, j) => codes.push({ code: `${i + 1}${String(j + 1).padStart(2, '0')}`, label: topic, parent_code: top }));
    });
    await insertAll(knex, 'classification_codes', codes.map((code) => ({ ...code, created_at: at(0), updated_at: at(0) })));

    // Taxonomy: root "knowledge" → fields → topics, with materialised paths.
    const taxonomy: Array<Record<string, unknown>> = [];
    const root = { id: randomUUID(), name: 'Knowledge', slug: 'knowledge', parent_id: null, level: 0, path: '/knowledge' };
    taxonomy.push(root);
    const topicNodes = new Map<string, string>();
    for (const [field, topics] of Object.entries(TOPICS)) {
        const fieldNode = { id: randomUUID(), name: field, slug: slugify(field), parent_id: root.id, level: 1, path: `${root.path}/${slugify(field)}` };
        taxonomy.push(fieldNode);
        for (const topic of topics) {
            const node = { id: randomUUID(), name: topic, slug: slugify(topic), parent_id: fieldNode.id, level: 2, path: `${fieldNode.path}/${slugify(topic)}` };
            taxonomy.push(node);
            topicNodes.set(topic, node.id);
        }
    }

    await insertAll(knex, 'taxonomy_nodes', taxonomy.map((node) => ({ ...node, created_at: at(0), updated_at: at(0) })));

    const allTopics = Object.values(TOPICS).flat() as string[];
    const codeOf = new Map(codes.filter((code) => code.parent_code).map((code) => [code.label, code.code]));
    const resources = Array.from({ length: 300 }, (_, i) => {

        const topic = pick(allTopics);
        const subjects = [...new Set([topic, ...pickSome(allTopics, 0, 2)])];
        const created = at(Math.floor(i / 2));
        return {
            id: randomUUID(),
            title: `${pick(ADJECTIVES)} ${topic}: a ${pick(FORMS)}`,
            description: `This ${pick(FORMS)} covers ${subjects.join(', ')}. It explains the key ideas of ${topic} with worked examples and references for further reading.`,
            creator: pick(['Ada Lovelace', 'Hypatia of Alexandria', 'Alan Turing', 'Emmy Noether', 'Ibn al-Haytham', 'Grace Hopper']),
            publisher: pick(['Alexandria University Press', 'Open Library Collective', 'Lighthouse Books']),
            type: pick(TYPES),
            format: pick(['text/html', 'application/pdf', 'text/plain']),
            language: pick(['en', 'en', 'en', 'fr', 'de']),
            identifier: `urn:demo:${i + 1}`,
            source: `https://example.org/library/${i + 1}`,
            rights: 'CC BY 4.0',
            subject: JSON.stringify(subjects),
            relation: JSON.stringify([]),
            classification_code: codeOf.get(topic) ?? null,
            quality_score: Math.round(random() * 1000) / 1000,
            read_status: pick(STATUSES),
            embedding: JSON.stringify(Array.from({ length: 8 }, () => Math.round((random() * 2 - 1) * 1e6) / 1e6)),
            sparse_embedding: JSON.stringify({ [topic]: Math.round(random() * 1000) / 1000 }),
            owner_id: pick(users).id,
            ingestion_status: 'completed',
            ingestion_started_at: created,
            ingestion_completed_at: created,
            created_at: created,
            updated_at: created
        };
    });
    await insertAll(knex, 'resources', resources);

    await insertAll(knex, 'resource_taxonomy', resources.map((resource) => ({
        resource_id: resource.id,
        taxonomy_node_id: topicNodes.get(JSON.parse(resource.subject)[0])!,
        confidence: Math.round((0.5 + random() / 2) * 1000) / 1000,
        is_predicted: random() < 0.5,
        created_at: resource.created_at
    })));

    const collections = [
        { name: 'Reading list', description: 'Things to read next', visibility: 'private' },
        { name: 'Course: databases', description: 'Material for the databases course', visibility: 'shared' },
        { name: 'Week 1', description: 'Storage engines', visibility: 'shared' },
        { name: 'Classics', description: 'Foundational works', visibility: 'public' },
        { name: 'Archive', description: 'Done and dusted', visibility: 'private' }
    ].map((collection) => ({ id: randomUUID(), owner_id: pick(users).id, parent_id: null as string | null, ...collection, created_at: at(1), updated_at: at(1) }));
    collections[2]!.parent_id = collections[1]!.id;
    await insertAll(knex, 'collections', collections);

    const memberships = collections.flatMap((collection) => pickSome(resources, 8, 25)
        .map((resource) => ({ collection_id: collection.id, resource_id: resource.id, added_at: at(2) })));
    await insertAll(knex, 'collection_resources', memberships);

    const annotations = resources.slice(0, 120).flatMap((resource) => Array.from({ length: 1 + Math.floor(random() * 2) }, () => {

        const start = Math.floor(random() * 80);
        const end = start + 5 + Math.floor(random() * 40);
        return {
            id: randomUUID(),
            resource_id: resource.id,
            user_id: pick(users).id,
            start_offset: start,
            end_offset: end,
            highlighted_text: resource.description.slice(start, end),
            note: random() < 0.6 ? pick(['Key point.', 'Check the references.', 'Compare with chapter 2.', 'Surprising!']) : null,
            tags: JSON.stringify(pickSome(['important', 'question', 'todo', 'quote'], 0, 2)),
            color: pick(COLORS),
            is_shared: random() < 0.3,
            created_at: resource.created_at,
            updated_at: resource.created_at
        };
    }));
    await insertAll(knex, 'annotations', annotations);

    const citations = resources.slice(0, 150).map((resource, i) => ({
        id: randomUUID(),
        source_resource_id: resource.id,
        target_resource_id: i % 3 === 0 ? null : resources[(i * 7 + 11) % resources.length]!.id,
        target_url: i % 3 === 0 ? `https://example.org/external/${i}` : null,
        citation_type: pick(['reference', 'dataset', 'code', 'general']),
        context_snippet: `As discussed in section ${1 + (i % 9)}`,
        importance_score: Math.round(random() * 1000) / 1000,
        created_at: resource.created_at,
        updated_at: resource.created_at
    }));
    await insertAll(knex, 'citations', citations);

    const edges = new Map<string, object>();
    for (let i = 0; i < 200; ++i) {
        const source = pick(resources);
        const target = pick(resources);
        const type = pick(['similar', 'cites', 'extends']);
        if (source.id !== target.id) {
            edges.set(`${source.id}:${target.id}:${type}`, {
                id: randomUUID(),
                source_id: source.id,
                target_id: target.id,
                edge_type: type,
                weight: Math.round(random() * 1000) / 1000,
                metadata: JSON.stringify({ method: 'demo' }),
                created_at: at(3),
                updated_at: at(3)
            });
        }
    }

    await insertAll(knex, 'graph_edges', [...edges.values()]);

    const authorities = (names: string[]) => names.map((name) => ({
        id: randomUUID(), canonical_name: name, variants: JSON.stringify([name.toLowerCase()]), usage_count: Math.floor(random() * 50), created_at: at(0), updated_at: at(0)
    }));
    await insertAll(knex, 'authority_subjects', authorities(allTopics));
    await insertAll(knex, 'authority_creators', authorities(['Ada Lovelace', 'Hypatia of Alexandria', 'Alan Turing', 'Emmy Noether', 'Ibn al-Haytham', 'Grace Hopper']));
    await insertAll(knex, 'authority_publishers', authorities(['Alexandria University Press', 'Open Library Collective', 'Lighthouse Books']));
}
