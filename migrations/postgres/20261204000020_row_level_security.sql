-- Row-level security: a second wall behind the tenant filter that every query of the
-- repository layer carries.
--
-- While it serves a signed-in caller, the ops API switches its connection to the role
-- `tenet_scoped` and names the caller's tenant in the setting `tenet.tenant_id` (see
-- `ops-api/src/db.rs`). That role holds the rights to read and write every table, and on
-- every table with tenants' rows a policy lets it see and write only the rows of that tenant:
-- a query that forgot its tenant filter finds nothing of another tenant, and a write into
-- another tenant fails. Outside a caller's request (migrations, the outbox relay, the SLA
-- watch, the command line) the connection keeps the role it logged in with, which owns the
-- tables.
--
-- The role is shared by every database of the server; the role Tenet logs in with needs the
-- right to create it once (CREATEROLE), or an administrator creates it beforehand
-- (`create role tenet_scoped nologin`) and grants it to that role.

do $$
begin
    if not exists (select from pg_roles where rolname = 'tenet_scoped') then
        create role tenet_scoped nologin;
    end if;
exception
    -- Another database of the server created it at the same moment.
    when duplicate_object or unique_violation then null;
end
$$;

do $$
begin
    if not pg_has_role(current_user, 'tenet_scoped', 'member') then
        execute format('grant tenet_scoped to %I', current_user);
    end if;
exception
    when unique_violation then null;
end
$$;

grant usage on schema public to tenet_scoped;
grant select, insert, update, delete on all tables in schema public to tenet_scoped;
grant usage, select on all sequences in schema public to tenet_scoped;
revoke all on _sqlx_migrations from tenet_scoped;
-- Tables and sequences that later migrations create get the same rights.
alter default privileges in schema public
    grant select, insert, update, delete on tables to tenet_scoped;
alter default privileges in schema public
    grant usage, select on sequences to tenet_scoped;

do $$
declare
    target record;
begin
    for target in
        select c.table_name
        from information_schema.columns c
        join information_schema.tables t
            on t.table_schema = c.table_schema and t.table_name = c.table_name
        where c.table_schema = current_schema()
          and c.column_name = 'tenant_id'
          and t.table_type = 'BASE TABLE'
    loop
        execute format('alter table %I enable row level security', target.table_name);
        execute format(
            'create policy tenant_isolation on %I to tenet_scoped '
            'using (tenant_id = nullif(current_setting(''tenet.tenant_id'', true), '''')::uuid)',
            target.table_name
        );
    end loop;
end
$$;

alter table tenants enable row level security;
create policy tenant_isolation on tenants to tenet_scoped
    using (id = nullif(current_setting('tenet.tenant_id', true), '')::uuid);
