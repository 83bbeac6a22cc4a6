-- The database role of one service: it logs in with its password, owns its schema and everything in it, and nothing
-- else (no superuser, no roles, no databases, nothing in public). Run as a superuser, once per service, whenever the
-- passwords change; safe to run again. psql variables (psql -v NAME=VALUE): database, role, schema, password. The same
-- file sets up the embedded database (DatabaseRoles in services/fleet-infra).
select set_config('coalora.database', :'database', false),
       set_config('coalora.role', :'role', false),
       set_config('coalora.schema', :'schema', false),
       set_config('coalora.password', :'password', false);
do $$
declare
    d text := current_setting('coalora.database');
    r text := current_setting('coalora.role');
    s text := current_setting('coalora.schema');
    o record;
begin
    if exists (select 1 from pg_roles where rolname = r) then
        execute format('alter role %I login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password %L',
                       r, current_setting('coalora.password'));
    else
        execute format('create role %I login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password %L',
                       r, current_setting('coalora.password'));
    end if;
    execute 'revoke create on schema public from public';
    execute format('revoke all on database %I from public', d);
    execute format('grant connect, temporary on database %I to %I', d, r);
    execute format('create schema if not exists %I authorization %I', s, r);
    -- a schema made before the roles existed (by the superuser) is handed to its service, with all it holds
    execute format('alter schema %I owner to %I', s, r);
    for o in select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = s and c.relkind in ('r', 'p', 'v', 'm', 'S') and pg_get_userbyid(c.relowner) <> r
               -- a sequence behind a serial or identity column moves with its table
               and not (c.relkind = 'S' and exists (select 1 from pg_depend dep
                                                     where dep.objid = c.oid and dep.deptype in ('a', 'i')))
    loop
        execute format('alter %s %I.%I owner to %I',
                       case o.relkind when 'v' then 'view' when 'm' then 'materialized view'
                                      when 'S' then 'sequence' else 'table' end,
                       s, o.relname, r);
    end loop;
    for o in select p.oid::regprocedure::text as f from pg_proc p join pg_namespace n on n.oid = p.pronamespace
             where n.nspname = s and pg_get_userbyid(p.proowner) <> r
    loop
        execute format('alter function %s owner to %I', o.f, r);
    end loop;
end
$$;
-- the password does not stay in the session's settings
select set_config('coalora.password', '', false);
