-- Each project's shared dictionaries (named lists of values) and, on a choice field, the
-- dictionary it takes its choices from.

create table project_dictionaries (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    project_id uuid not null references projects (id),
    key text not null,
    name text not null,
    -- JSON: [{"value", "label", "active"}], in order.
    entries text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    version bigint not null default 1,
    unique (project_id, key)
);

alter table project_fields add column dictionary text;
