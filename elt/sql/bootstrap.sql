-- Fixed schemas and least-privilege roles of the warehouse (idempotent; safe to run on every start).
-- Used by `elt up` and, unchanged, as the docker-compose init script.
-- Roles are server-wide, so they are prefixed with the database name:
--   <db>_loader       dlt: owns raw_* (and dlt's raw_*_staging, and raw_ops: elt's run history), nothing else
--   <db>_transformer  dbt: reads raw_*, owns staging, intermediate, marts, marts_pii, snapshots
--   <db>_reporter     analysts: reads marts only (no raw_*, no PII in marts_pii or snapshots)
do $bootstrap$
declare
    db text := current_database();
    loader text := db || '_loader';
    transformer text := db || '_transformer';
    reporter text := db || '_reporter';
    role_name text;
    schema_name text;
begin
    foreach role_name in array array[loader, transformer, reporter] loop
        if not exists (select from pg_roles where rolname = role_name) then
            execute format('create role %I nologin', role_name);
        end if;
        -- the connecting user switches to these roles with `options=-c role=...`
        if not exists (
            select from pg_auth_members as m
            where m.roleid = (select oid from pg_roles where rolname = role_name)
                and m.member = (select oid from pg_roles where rolname = session_user)
        ) and not (select rolsuper from pg_roles where rolname = session_user) then
            execute format('grant %I to %I', role_name, session_user);
        end if;
    end loop;

    foreach schema_name in array array['raw_neows', 'raw_transactions', 'raw_app'] loop
        execute format('create schema if not exists %I authorization %I', schema_name, loader);
        execute format('alter schema %I owner to %I', schema_name, loader);
        execute format('create schema if not exists %I authorization %I', schema_name || '_staging', loader);
        execute format('alter schema %I owner to %I', schema_name || '_staging', loader);
        execute format('grant usage on schema %I to %I', schema_name, transformer);
        execute format('grant select on all tables in schema %I to %I', schema_name, transformer);
        execute format(
            'alter default privileges for role %I in schema %I grant select on tables to %I',
            loader, schema_name, transformer
        );
    end loop;

    -- run history and locks of `elt load` (written by the loader, readable by dbt for monitoring)
    execute format('create schema if not exists raw_ops authorization %I', loader);
    execute format('alter schema raw_ops owner to %I', loader);
    create table if not exists raw_ops.pipeline_runs (
        run_id uuid primary key,
        pipeline text not null,
        status text not null check (status in ('running', 'success', 'partial', 'failed', 'crashed')),
        started_at timestamptz not null,
        finished_at timestamptz,
        rows_extracted bigint,
        rows_loaded bigint,
        rows_rejected bigint,
        error text,
        host text not null,
        pid integer not null
    );
    -- duplicates a source collapsed by its own rule before loading (added after the first release)
    alter table raw_ops.pipeline_runs add column if not exists rows_collapsed bigint;
    execute format('alter table raw_ops.pipeline_runs owner to %I', loader);
    execute format('grant usage on schema raw_ops to %I', transformer);
    execute format('grant select on raw_ops.pipeline_runs to %I', transformer);

    foreach schema_name in array array['staging', 'intermediate', 'marts', 'marts_pii', 'snapshots'] loop
        execute format('create schema if not exists %I authorization %I', schema_name, transformer);
        execute format('alter schema %I owner to %I', schema_name, transformer);
    end loop;

    execute format('grant usage on schema marts to %I', reporter);
    execute format('grant select on all tables in schema marts to %I', reporter);
    execute format(
        'alter default privileges for role %I in schema marts grant select on tables to %I',
        transformer, reporter
    );
end
$bootstrap$;
