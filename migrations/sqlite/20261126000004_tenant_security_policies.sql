-- The per-tenant security policy set by the tenant's admins. A tenant without a row uses the
-- process's defaults (auth settings).
-- UUIDs are 16-byte blobs, timestamps RFC 3339 UTC text, booleans 0/1.

create table tenant_security_policies (
    tenant_id blob primary key references tenants (id),
    password_min_length integer not null,
    password_require_digit integer not null,
    password_require_symbol integer not null,
    password_require_mixed_case integer not null,
    session_lifetime_minutes integer not null,
    max_failed_logins integer not null,
    lockout_minutes integer not null,
    -- JSON array of addresses and CIDR blocks; empty admits any address.
    ip_allowlist text not null,
    version bigint not null,
    updated_at text not null
);
