// The models, and binding them to one knex instance.

import type { Knex } from 'knex';

import { Annotation } from './annotation';
import { AuthorityCreator, AuthorityPublisher, AuthoritySubject } from './authority';
import { Citation } from './citation';
import { ClassificationCode } from './classification-code';
import { Collection } from './collection';
import { CollectionResource } from './collection-resource';
import { GraphEdge } from './graph-edge';
import { Resource } from './resource';
import { ResourceTaxonomy } from './resource-taxonomy';
import { TaxonomyNode } from './taxonomy-node';
import { User } from './user';

export {
    Annotation, AuthorityCreator, AuthorityPublisher, AuthoritySubject, Citation, ClassificationCode,
    Collection, CollectionResource, GraphEdge, Resource, ResourceTaxonomy, TaxonomyNode, User
};
export { RESOURCE_COLUMNS, READ_STATUSES, INGESTION_STATUSES, type ReadStatus, type IngestionStatus } from './resource';
export { VISIBILITIES, type Visibility } from './collection';

const all = {
    Annotation, AuthorityCreator, AuthorityPublisher, AuthoritySubject, Citation, ClassificationCode,
    Collection, CollectionResource, GraphEdge, Resource, ResourceTaxonomy, TaxonomyNode, User
};

export type Models = { [K in keyof typeof all]: typeof all[K] };

/** Subclasses of every model bound to `knex` (no global Model.knex()). */
export function bindModels(knex: Knex): Models {

    const bound = {} as Record<string, unknown>;
    for (const [name, model] of Object.entries(all)) {
        bound[name] = model.bindKnex(knex);
    }

    return bound as Models;
}
