-- Current hard-delete status per (table, id). raw_app.deleted_keys only exists once a first deletion
-- was detected: until then this view is empty (with the same columns) instead of failing the build.
{%- set deleted_keys = source('app', 'deleted_keys') %}

{% if relation_exists(deleted_keys) -%}

with

source as (
    select * from {{ deleted_keys }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by source_table, id
            order by detected_at desc, _dlt_load_id desc
        ) as version_rank
    from source
),

renamed as (
    select
        -- ids
        id as deleted_id,

        -- strings
        source_table,

        -- booleans
        is_deleted,

        -- timestamps
        detected_at

    from deduplicated
    where version_rank = 1
)

{%- else -%}

with

renamed as (
    select
        null::bigint as deleted_id,
        null::varchar as source_table,
        null::boolean as is_deleted,
        null::timestamptz as detected_at
    where false
)

{%- endif %}

select * from renamed
