// Foreign-key order for partial restores: a referenced table before the
// tables that reference it. Self-references are left to the engine (one
// INSERT … SELECT checks them at the end of the statement).

export type ForeignKeyEdge = { child: string; parent: string };

export function parentsFirst(tables: readonly string[], edges: readonly ForeignKeyEdge[]): string[] {

    const parents = new Map<string, Set<string>>(tables.map((table) => [table, new Set()]));
    for (const { child, parent } of edges) {
        if (child !== parent && parents.has(child) && parents.has(parent)) {
            parents.get(child)!.add(parent);
        }
    }

    const ordered: string[] = [];
    const visit = (table: string, path: Set<string>) => {

        if (ordered.includes(table) || path.has(table)) {
            return;
        }

        path.add(table);
        [...parents.get(table)!].sort().forEach((parent) => visit(parent, path));
        path.delete(table);
        ordered.push(table);
    };

    [...tables].sort().forEach((table) => visit(table, new Set()));
    return ordered;
}
