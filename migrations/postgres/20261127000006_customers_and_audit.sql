-- Customers (one identity across phone numbers, e-mails and messenger ids, with preferences,
-- lifetime value, VIP and flags), their tickets, and the audit log of personal-data reads.

create table customers (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    display_name text not null,
    -- The display name lower-cased, for case-insensitive search on both engines.
    search_name text not null,
    vip boolean not null default false,
    -- JSON object of the customer's preferences (channel, language, contact hours, consent).
    preferences text not null,
    -- Lifetime value in minor units of `currency` (ISO 4217), set by the CRM or billing.
    lifetime_value_minor bigint,
    currency text,
    -- Set when the customer was merged into another; such a record keeps only its history.
    merged_into uuid references customers (id),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    version bigint not null default 1
);

create index customers_by_tenant on customers (tenant_id, id);

create table customer_identities (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    customer_id uuid not null references customers (id),
    -- phone, email, telegram, whatsapp, viber, vk, web_chat.
    kind text not null,
    -- Normalised: E.164 phone numbers, lower-case e-mail addresses.
    value text not null,
    created_at timestamptz not null,
    unique (tenant_id, kind, value)
);

create index customer_identities_by_customer on customer_identities (tenant_id, customer_id);

create table customer_flags (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    customer_id uuid not null references customers (id),
    -- conflict or broken_commitment.
    kind text not null,
    note text not null,
    -- JSON of the principal who raised it.
    raised_by text not null,
    raised_at timestamptz not null,
    resolved_by text,
    resolved_at timestamptz,
    resolution text,
    version bigint not null default 1
);

create index customer_flags_by_customer on customer_flags (tenant_id, customer_id, id);

create table customer_history (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    customer_id uuid not null references customers (id),
    actor text not null,
    change text not null,
    detail text not null,
    at timestamptz not null
);

create index customer_history_by_customer on customer_history (tenant_id, customer_id, id);

alter table tickets add column customer_id uuid references customers (id);

create index tickets_by_customer on tickets (tenant_id, customer_id, id);

-- Who read which personal data, when: written in the same request that answers the read.
create table audit_log (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    -- JSON of the principal.
    actor text not null,
    action text not null,
    subject_kind text not null,
    subject_id uuid not null,
    detail text not null,
    at timestamptz not null
);

create index audit_log_by_tenant on audit_log (tenant_id, id);
create index audit_log_by_subject on audit_log (tenant_id, subject_id, id);
