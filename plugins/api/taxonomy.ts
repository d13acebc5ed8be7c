// Read-only classification codes and taxonomy tree.

import Boom from '@hapi/boom';
import type { Request, ServerRoute } from '@hapi/hapi';

import { Joi } from '../../server/input';
import type { TaxonomyNode } from '../../server/models';
import { documented } from '../../server/openapi';
import { classificationCodeListSchema, classificationCodeWithChildrenSchema, taxonomyNodeSchema, taxonomyTreeSchema } from './response-schemas';
import { idParam, paramsOf } from './schemas';

interface TreeNode {
    id: string;
    name: string;
    slug: string;
    level: number;
    path: string;
    description: string | null;
    children: TreeNode[];
}

function buildTree(nodes: TaxonomyNode[], rootId: string | null): TreeNode[] {

    const byParent = new Map<string | null, TaxonomyNode[]>();
    for (const node of nodes) {
        const siblings = byParent.get(node.parent_id) ?? [];
        siblings.push(node);
        byParent.set(node.parent_id, siblings);
    }

    const build = (parentId: string | null): TreeNode[] => (byParent.get(parentId) ?? []).map((node) => ({
        id: node.id,
        name: node.name,
        slug: node.slug,
        level: node.level,
        path: node.path,
        description: node.description,
        children: build(node.id)
    }));

    return build(rootId);
}

export const taxonomyRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: '/classification-codes',
        options: {
            tags: ['api', 'taxonomy'],
            description: 'All classification codes, ordered by code',
            validate: { query: Joi.object({ parent_code: Joi.string().max(32) }) },
            plugins: documented({ responses: { 200: { description: 'The codes', schema: classificationCodeListSchema } } }),
            async handler(request: Request) {

                const builder = request.models.ClassificationCode.query().orderBy('code');
                const { parent_code: parent } = request.query as { parent_code?: string };
                if (parent) {
                    builder.where('parent_code', parent);
                }

                const items = await builder;
                return { total: items.length, items };
            }
        }
    },
    {
        method: 'GET',
        path: '/classification-codes/{code}',
        options: {
            tags: ['api', 'taxonomy'],
            description: 'One classification code with its children',
            validate: { params: Joi.object({ code: Joi.string().min(1).max(32).required() }) },
            plugins: documented({ responses: { 200: { description: 'The code and its children', schema: classificationCodeWithChildrenSchema } }, errors: [404] }),
            async handler(request: Request) {

                const code = await request.models.ClassificationCode.query()
                    .findById(paramsOf(request).code).withGraphFetched('children(ordered)')
                    .modifiers({ ordered: (builder) => builder.orderBy('code') });
                if (!code) {
                    throw Boom.notFound(`Classification code ${paramsOf(request).code} not found`);
                }

                return code;
            }
        }
    },
    {
        method: 'GET',
        path: '/taxonomy',
        options: {
            tags: ['api', 'taxonomy'],
            description: 'The whole taxonomy as a tree',
            plugins: documented({ responses: { 200: { description: 'The tree', schema: taxonomyTreeSchema } } }),
            async handler(request: Request) {

                const nodes = await request.models.TaxonomyNode.query().orderBy('path').orderBy('id');
                return { total: nodes.length, tree: buildTree(nodes, null) };
            }
        }
    },
    {
        method: 'GET',
        path: '/taxonomy/{id}',
        options: {
            tags: ['api', 'taxonomy'],
            description: 'One taxonomy node with its subtree',
            validate: { params: idParam() },
            plugins: documented({ responses: { 200: { description: 'The node and its subtree', schema: taxonomyNodeSchema } }, errors: [404] }),
            async handler(request: Request) {

                const { TaxonomyNode } = request.models;
                const node = await TaxonomyNode.query().findById(paramsOf(request).id);
                if (!node) {
                    throw Boom.notFound(`Taxonomy node ${paramsOf(request).id} not found`);
                }

                // path is a materialised "/a/b/c" of slugs: the subtree is a prefix match.
                const descendants = await TaxonomyNode.query()
                    .where('path', 'like', `${node.path.replace(/[\\%_]/g, '\\$&')}/%`)
                    .orderBy('path').orderBy('id');
                return { ...node.toJSON(), children: buildTree(descendants, node.id) };
            }
        }
    }
];
