-- Each project's shared dictionaries (named lists of values) and, on a choice field, the
-- dictionary it takes its choices from.
-- UUIDs are 16-byte blobs, timestamps RFC 3339 UTC text.

create table project_dictionaries (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    project_id blob not null references projects (id),
    key text not null,
    name text not null,
    -- JSON: [{"value", "label", "active"}], in order.
    entries text not null,
    created_at text not null,
    updated_at text not null,
    version bigint not null default 1,
    unique (project_id, key)
);

alter table project_fields add column dictionary text;
