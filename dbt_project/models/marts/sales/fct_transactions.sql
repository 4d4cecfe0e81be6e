{#
    Valid transactions, one row per transaction_id, merged incrementally. An incremental run re-reads
    the transactions loaded after the newest `loaded_at` it holds minus `incremental_lookback_hours`
    (new, late and corrected rows: a corrected copy of a transaction gets a new load), plus every
    transaction of a user whose application row was loaded after the newest `user_loaded_at` it holds
    minus the same lookback (a country change, a new user resolving orphans), so it ends equal to a full
    refresh. Hard deletes change nothing here (the user's last row stays; dim_users flags it). Loads of
    one pipeline are serialized (elt's advisory lock), so a row loaded before the newest one seen was
    visible to the previous run; the lookback covers anything else.

    Indexes on the load times find the window's start (the newest of each) without reading the table,
    and let transaction_anomaly_scores read only the facts of its window. A merge adds their newest
    keys at the right edge of each index. dbt creates them when it builds the table (--full-refresh
    for an existing one).
#}
{{
    config(
        materialized='incremental',
        unique_key='transaction_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['loaded_at']},
            {'columns': ['user_loaded_at']},
        ],
    )
}}
-- depends_on: {{ ref('stg_app__users') }}
{#
    The window is read before the model's query and inlined as constants: a filter of constants (a
    timestamp, an array literal that PostgreSQL hashes) is pushed through the views down to the raw
    table's scan, before the staging dedup; a subquery would stop it there, an array parameter would be
    searched linearly for each raw row.
#}
{%- if is_incremental() %}
{%- set lookback_seconds = (var('incremental_lookback_hours') | int) * 3600 %}
{%- set window_query %}
with window_start as (
    select
        extract(epoch from coalesce(max(loaded_at), 'epoch'::timestamptz)) - {{ lookback_seconds }}
        as loaded_after,
        extract(epoch from coalesce(max(user_loaded_at), 'epoch'::timestamptz)) - {{ lookback_seconds }}
        as users_loaded_after
    from {{ this }}
)
select
    window_start.loaded_after,
    (
        select '{' || coalesce(string_agg(users.user_id::text, ',' order by users.user_id), '') || '}'
        from {{ ref('stg_app__users') }} as users
        where users.loaded_at > to_timestamp(window_start.users_loaded_after)
    ) as changed_user_ids
from window_start
{%- endset %}
{%- set window = dbt.run_query(window_query).rows[0] %}
{%- endif %}

with

transactions as (
    select * from {{ ref('int_transactions_joined_to_users') }}
),

{% if is_incremental() -%}

existing_transactions as (
    select * from {{ this }}
),

selected as (
    select *
    from transactions
    where
        loaded_at > to_timestamp({{ window[0] }})
        or user_id = any('{{ window[1] }}'::bigint[])
),

{%- else -%}

selected as (
    select * from transactions
),

{%- endif %}

final as (
    select
        -- ids
        transaction_id::text as transaction_id,
        user_id,

        -- strings
        country_code::text as country_code,

        -- numerics
        total_cost_usd::numeric(12, 2) as total_cost_usd,

        -- booleans
        is_orphan,

        -- dates
        transaction_date,

        -- timestamps
        loaded_at,
        user_loaded_at

    from selected
)
{%- if is_incremental() %},

-- the window re-reads rows merged before (the lookback): only those that differ are merged again
changed as (
    select final.*
    from final
    where not exists (
        select existing_transactions.transaction_id
        from existing_transactions
        where
            existing_transactions.transaction_id = final.transaction_id
            and (
                existing_transactions.user_id,
                existing_transactions.country_code,
                existing_transactions.total_cost_usd,
                existing_transactions.is_orphan,
                existing_transactions.transaction_date,
                existing_transactions.loaded_at,
                existing_transactions.user_loaded_at
            ) is not distinct from (
                final.user_id,
                final.country_code,
                final.total_cost_usd,
                final.is_orphan,
                final.transaction_date,
                final.loaded_at,
                final.user_loaded_at
            )
    )
)

select * from changed
{%- else %}

select * from final
{%- endif %}
